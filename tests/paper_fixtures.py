"""Tiny, format-true stand-ins for every download of the paper run (config/paper.yaml), and
a download manifest pointing at them with ``file://`` URLs and their sha256.

One small generated genome (hg19-style names, soft-masked, N runs, extra contigs) is the
source of everything: the DeepSEA bundle's 1000-bp samples are cut from it, the 1000
Genomes-style PLINK panel is simulated on it with msprime, the baselineLD-style
annotations, LD scores, weights and frequencies are computed on that panel, the UK
Biobank-style summary statistics from its LD, and the Wagih-style ASB table's variants sit
on its bases. Archive and file names follow the real downloads (resources/downloads.tsv).
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from scipy.io import savemat

from amber.ldsc.genotypes import GenotypeConfig, simulate_genotypes
from amber.ldsc.gwas import simulate_z
from amber.ldsc.ldscore import block_lefts, compute_chromosome, write_annot
from amber.ldsc.plink import read_plink, write_plink

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("train", "valid", "test")
CHROMS = ("chr1", "chr2", "chr3")
CHROM_LENGTH = 250_000
LEADING_N = 5_000  # hg19 chromosomes start with a run of N
EXTRA_CONTIGS = {"chrM": 1_600, "chr1_gl000191_random": 3_000}
SEQ_LEN = 1000
N_SAMPLES = {"train": 1600, "valid": 300, "test": 400}
MOTIFS = ("GATAA", "CACGTG", "TGACTCA", "CCGCGG", "TTTAT", "GGAA", "CAGCTG", "ACGT")
PLINK_PREFIX = "1000G.EUR.QC."
BASELINE_PREFIX = "baselineLD."
WEIGHTS_PREFIX = "weights.hm3_noMHC."
GWAS_N = 400_000
GWAS_H2 = 0.0005  # over ~4,000 SNPs: mean chi2 near UK Biobank's
# Wagih et al. 2018 supplementary table (read by amber.asb.convert.convert_wagih).
WAGIH_HEADER = (
    "chr",
    "pos",
    "ref",
    "alt",
    "tf",
    "ref_reads",
    "alt_reads",
    "total_reads",
    "p_binomial",
    "fdr_binomial",
    "deepsea_col",
    "ds_logfc",
    "deltasvm",
    "deepbind_max_delta_raw",
    "jaspar_max_delta_raw",
    "best_meme_max_delta_raw",
)
ASB_TFS = {"CTCF": "GM12878|CTCF|None", "PU.1": "GM12878|PU.1|None"}


# --- DeepSEA bundle -------------------------------------------------------------------


def to_agct(x: np.ndarray) -> np.ndarray:
    """Reorder one-hot (n, 4, L) channels A,C,G,T -> the bundle's A,G,C,T by name."""
    order = "ACGT"
    return np.stack([x[:, order.index(b)] for b in "AGCT"], axis=1)


def write_deepsea_mats(
    folder: Path, data: Mapping[str, tuple[np.ndarray, np.ndarray]], chunk_rows: int
) -> None:
    """train.mat as MATLAB v7.3 (HDF5 behind a 512-byte header; column-major, so h5py sees
    (L, 4, N) and (F, N)); valid.mat / test.mat as MATLAB v5 (scipy.io.savemat). ``data``:
    split -> (x (N, 4, L) one-hot in A,C,G,T, y (N, F))."""
    folder.mkdir(parents=True, exist_ok=True)
    x, y = data["train"]
    seq_len = x.shape[2]
    with h5py.File(folder / "train.mat", "w", userblock_size=512) as h5:
        h5.create_dataset(
            "trainxdata",
            data=to_agct(x).transpose(2, 1, 0),
            chunks=(min(seq_len, 4), 2, chunk_rows),
            compression="gzip",
        )
        h5.create_dataset("traindata", data=y.T, chunks=(y.shape[1], chunk_rows))
    with open(folder / "train.mat", "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64")
    for split in ("valid", "test"):
        x, y = data[split]
        savemat(
            folder / f"{split}.mat",
            {f"{split}xdata": to_agct(x), f"{split}data": y},
            do_compression=True,
        )


def _one_hot(seqs: list[str]) -> np.ndarray:
    codes = np.array([np.frombuffer(s.upper().encode(), dtype=np.uint8) for s in seqs])
    return (codes[:, None, :] == np.frombuffer(b"ACGT", dtype=np.uint8)[None, :, None]).astype(
        np.uint8
    )


def _labels(seqs: list[str], n_features: int, rng: np.random.Generator) -> np.ndarray:
    """Feature f is on when its motif (MOTIFS[f % 8]) lies in the central 200 bp, with 5%
    of labels flipped: learnable, and every feature has positives in every split."""
    centre = [s[400:600].upper() for s in seqs]
    hits = np.array([[m in c for m in MOTIFS] for c in centre], dtype=bool)
    y = hits[:, np.arange(n_features) % len(MOTIFS)]
    flip = rng.random(y.shape) < 0.05
    return (y ^ flip).astype(np.uint8)


def deepsea_samples(
    genome: Mapping[str, str], n_features: int, rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """split -> (x, y): random 1000-bp windows of the chromosomes, away from N runs."""
    data = {}
    for split, n in N_SAMPLES.items():
        seqs = []
        for _ in range(n):
            chrom = CHROMS[int(rng.integers(len(CHROMS)))]
            start = int(rng.integers(LEADING_N, CHROM_LENGTH - SEQ_LEN))
            seqs.append(genome[chrom][start : start + SEQ_LEN])
        data[split] = (_one_hot(seqs), _labels(seqs, n_features, rng))
    return data


def write_deepsea_bundle(
    archive: Path,
    work: Path,
    genome: Mapping[str, str],
    features_txt: Path,
    rng: np.random.Generator,
) -> None:
    """deepsea_train_bundle.v0.9.tar.gz: deepsea_train/{train,valid,test}.mat."""
    n_features = sum(1 for line in features_txt.read_text().splitlines() if line.strip())
    folder = work / "deepsea_train"
    write_deepsea_mats(folder, deepsea_samples(genome, n_features, rng), chunk_rows=100)
    _tar(archive, folder, [folder / f"{s}.mat" for s in SPLITS])


# --- genome ---------------------------------------------------------------------------


def make_genome(rng: np.random.Generator) -> dict[str, str]:
    """Random chromosomes with a leading N run and soft-masked (lowercase) stretches."""
    genome = {}
    lengths = {**dict.fromkeys(CHROMS, CHROM_LENGTH), **EXTRA_CONTIGS}
    for name, length in lengths.items():
        seq = np.array(list("ACGT"))[rng.integers(0, 4, length)]
        if name in CHROMS:
            seq[:LEADING_N] = "N"
            for start in rng.integers(LEADING_N, length - 400, 40):
                seq[start : start + 300] = np.char.lower(seq[start : start + 300])
        genome[name] = "".join(seq)
    return genome


def write_fasta(genome: Mapping[str, str], path: Path) -> None:
    """FASTA with 50-column lines (as UCSC's), gzipped when ``path`` ends in .gz."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt") as handle:
        for name, seq in genome.items():
            handle.write(f">{name}\n")
            handle.writelines(seq[i : i + 50] + "\n" for i in range(0, len(seq), 50))


# --- S-LDSC reference -----------------------------------------------------------------


def _tar(archive: Path, folder: Path, files: list[Path]) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        for path in files:
            tar.add(path, arcname=f"{folder.name}/{path.name}")


def _write_frq(bim: pd.DataFrame, genotypes: np.ndarray, path: Path) -> None:
    """PLINK 1.9 --freq output: space-padded CHR SNP A1 A2 MAF NCHROBS, A1 the minor allele."""
    counts = genotypes.sum(axis=1) / (2 * genotypes.shape[1])  # frequency of A1
    minor = counts <= 0.5
    a1 = np.where(minor, bim["A1"], bim["A2"])
    a2 = np.where(minor, bim["A2"], bim["A1"])
    maf = np.where(minor, counts, 1 - counts)
    lines = [f"{'CHR':>4} {'SNP':>12} {'A1':>4} {'A2':>4} {'MAF':>12} {'NCHROBS':>8}"]
    nchrobs = 2 * genotypes.shape[1]
    for row in zip(bim["CHR"], bim["SNP"], a1, a2, maf, strict=True):
        lines.append(
            f"{row[0]:>4} {row[1]:>12} {row[2]:>4} {row[3]:>4} {row[4]:>12.4g} {nchrobs:>8}"
        )
    path.write_text("\n".join(lines) + "\n")


def _baseline_annot(bim: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A few baselineLD v2.2 columns (binary and continuous), keyed CHR BP SNP CM."""
    m = len(bim)
    return bim[["CHR", "BP", "SNP", "CM"]].assign(
        base=1.0,
        Coding_UCSC=(rng.random(m) < 0.1).astype(float),
        Promoter_UCSC=(rng.random(m) < 0.2).astype(float),
        Conserved_LindbladToh=(rng.random(m) < 0.3).astype(float),
        MAF_Adj_Predicted_Allele_Age=np.round(rng.standard_normal(m), 4),
    )


def write_ldsc_reference(
    genome: Mapping[str, str], work: Path, out: Path, rng: np.random.Generator
) -> None:
    """PLINK panel, baselineLD, weights and frequency archives, the HapMap3 list and the
    UK Biobank-style sumstats, all from one msprime panel of the genome's chromosomes."""
    fasta = work / "autosomes.fa"
    write_fasta({c: genome[c] for c in CHROMS}, fasta)
    cfg = GenotypeConfig(
        n_reference=100, n_panel=300, recombination_rate=1e-7, mutation_rate=8e-8, seed=5
    )
    simulate_genotypes(fasta, work / "geno", cfg)
    folders = {
        name: work / name
        for name in (
            "1000G_EUR_Phase3_plink",
            "baselineLD_v2.2",
            "1000G_Phase3_weights_hm3_no_MHC",
            "1000G_Phase3_frq",
        )
    }
    for folder in folders.values():
        folder.mkdir()
    plink, baseline, weights, frq = folders.values()
    hm3: list[str] = []
    sumstats: list[pd.DataFrame] = []
    rs = 1000
    for code in range(1, len(CHROMS) + 1):
        genotypes, bim, fam = read_plink(work / "geno" / "reference" / f"ref.{code}")
        ids = [f"rs{rs + i}" for i in range(len(bim))]
        rs += len(bim)
        bim = bim.assign(SNP=ids)
        prefix = f"{PLINK_PREFIX}{code}"
        iids = [f"HG{i:05d}" for i in range(len(fam))]
        write_plink(plink / prefix, genotypes, bim, iids)
        _write_frq(bim, genotypes, frq / f"{prefix}.frq")
        in_hm3 = rng.random(len(bim)) < 0.8
        chrom_hm3 = set(bim.loc[in_hm3, "SNP"])
        hm3 += list(bim.loc[in_hm3, "SNP"])
        annot = _baseline_annot(bim, rng)
        write_annot(annot, baseline / f"{BASELINE_PREFIX}{code}.annot.gz")
        compute_chromosome(
            str(plink / prefix),
            str(baseline / f"{BASELINE_PREFIX}{code}"),
            annot=str(baseline / f"{BASELINE_PREFIX}{code}"),
            print_snps=chrom_hm3,
        )
        _write_weights(plink / prefix, weights / f"{WEIGHTS_PREFIX}{code}", chrom_hm3, bim)
        sumstats.append(_chromosome_z(work, code, bim, annot, rng))
    (out / "hm3_no_MHC.list.txt").write_text("\n".join(hm3) + "\n")
    for key, folder in zip(
        ("plinkfiles", "baselineLD_v2.2_ldscores", "weights_hm3_no_MHC", "frq"),
        folders.values(),
        strict=True,
    ):
        _tar(out / f"1000G_Phase3_{key}.tgz", folder, sorted(folder.iterdir()))
    _write_sumstats(pd.concat(sumstats, ignore_index=True), set(hm3), out)


def _write_weights(bfile: Path, out: Path, hm3: set[str], bim: pd.DataFrame) -> None:
    """weights.hm3_noMHC.<c>.l2.ldscore.gz: LD scores among HapMap3 SNPs, columns CHR SNP
    BP CM MAF L2 as in the real files (which ship no .M files)."""
    compute_chromosome(str(bfile), str(out), extract=hm3)
    path = Path(f"{out}.l2.ldscore.gz")
    table = pd.read_csv(path, sep="\t")
    table = table.merge(bim[["SNP", "CM"]], on="SNP").assign(MAF=0.25)
    table[["CHR", "SNP", "BP", "CM", "MAF", "L2"]].to_csv(
        path, sep="\t", index=False, float_format="%.6g"
    )
    for suffix in (".l2.M", ".l2.M_5_50"):
        Path(f"{out}{suffix}").unlink()


def _chromosome_z(
    work: Path, code: int, bim: pd.DataFrame, annot: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Z of one chromosome for every trait (its own effects each) from the GWAS panel's
    LD, heritability enriched in Coding_UCSC."""
    panel, panel_bim, _ = read_plink(work / "geno" / "panel" / f"panel.{code}")
    var = np.where(annot["Coding_UCSC"].to_numpy() > 0, 5.0, 1.0)
    scale = np.sqrt(GWAS_H2 * var / (len(CHROMS) * var.sum()))
    left = block_lefts(panel_bim["CM"].to_numpy(), 1.0)
    table = bim[["SNP", "A1", "A2"]].copy()
    for name in paper_trait_files():
        beta = rng.standard_normal(len(bim)) * scale
        table[name] = simulate_z(panel, beta, GWAS_N, rng, left)
    return table


def _write_sumstats(table: pd.DataFrame, hm3: set[str], out: Path) -> None:
    """UKBB_409K.<trait>.sumstats.gz in ldsc's format (SNP A1 A2 N CHISQ Z) over HapMap3
    SNPs, one per trait of the paper config."""
    table = table.loc[table["SNP"].isin(hm3)].reset_index(drop=True)
    for name in paper_trait_files():
        z = table[name].to_numpy()
        frame = table.assign(N=float(GWAS_N), CHISQ=np.round(z**2, 4), Z=np.round(z, 4))
        frame[["SNP", "A1", "A2", "N", "CHISQ", "Z"]].to_csv(
            out / name, sep="\t", index=False, compression="gzip"
        )


def paper_trait_files() -> list[str]:
    """The UK Biobank files of the paper's traits (ldsc.reference.traits)."""
    import yaml

    schema = yaml.safe_load((ROOT / "workflow/schemas/ldsc.schema.yaml").read_text())
    traits = schema["properties"]["reference"]["properties"]["traits"]["default"]
    return [t["file"] for t in traits]


# --- ASB ------------------------------------------------------------------------------


def write_wagih_table(genome: Mapping[str, str], path: Path, rng: np.random.Generator) -> None:
    """A gzipped Wagih et al. table: per TF 30 loss, 30 gain and 60 neutral SNVs whose ref
    is the genome's base (either case), plus one indel the converter drops."""
    rows = []
    for tf, feature in ASB_TFS.items():
        for cls, n in (("loss", 30), ("gain", 30), ("neutral", 60)):
            for _ in range(n):
                rows.append(_wagih_row(genome, tf, feature, cls, rng))
    rows.append(
        ["chr2", 20_000, "AT", "A", "CTCF", 10, 10, 20, 1, 1, ASB_TFS["CTCF"], 0, 0, 0, 0, 0]
    )
    frame = pd.DataFrame(rows, columns=list(WAGIH_HEADER))
    frame.to_csv(path, sep="\t", index=False, compression="gzip")


def _wagih_row(
    genome: Mapping[str, str], tf: str, feature: str, cls: str, rng: np.random.Generator
) -> list:
    chrom = CHROMS[int(rng.integers(len(CHROMS)))]
    pos = int(rng.integers(LEADING_N + SEQ_LEN, CHROM_LENGTH - SEQ_LEN))
    ref = genome[chrom][pos - 1].upper()
    alt = "ACGT"[("ACGT".index(ref) + int(rng.integers(1, 4))) % 4]
    total = int(rng.integers(20, 80))
    share = {"loss": 0.85, "gain": 0.15, "neutral": 0.5}[cls]
    ref_reads = int(round(total * share))
    p = 1e-6 if cls != "neutral" else 0.9
    logfc = {"loss": -1.0, "gain": 1.0, "neutral": 0.0}[cls] + 0.2 * rng.standard_normal()
    return [
        chrom,
        pos,
        ref,
        alt,
        tf,
        ref_reads,
        total - ref_reads,
        total,
        p,
        p * 10 if cls != "neutral" else 0.95,
        feature,
        round(logfc, 4),
        "NA",
        round(logfc / 2, 4),
        round(logfc * 3, 4),
        round(logfc, 4),
    ]


# --- everything + manifest ------------------------------------------------------------


def write_paper_downloads(out: Path, seed: int = 1) -> dict[str, Path]:
    """Every download of config/paper.yaml, under their manifest names, plus the Wagih
    table (wagih_asb.tsv.gz; no stable URL, given as asb.table). Returns name -> path."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "_work"
    work.mkdir()
    genome = make_genome(rng)
    write_fasta(genome, out / "hg19.fa.gz")
    write_deepsea_bundle(
        out / "deepsea_train_bundle.v0.9.tar.gz",
        work,
        genome,
        ROOT / "resources" / "deepsea_features.txt",
        rng,
    )
    write_ldsc_reference(genome, work, out, rng)
    write_wagih_table(genome, out / "wagih_asb.tsv.gz", rng)
    shutil.rmtree(work)
    return {p.name: p for p in sorted(out.iterdir())}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(files: Mapping[str, Path], path: Path) -> None:
    """downloads.tsv in resources/downloads.tsv's format: file:// URLs, pinned sha256."""
    lines = ["name\turl\tchecksum\tsize_bytes\tdescription"]
    for name, file in files.items():
        size = file.stat().st_size
        lines.append(f"{name}\t{file.resolve().as_uri()}\tsha256:{sha256(file)}\t{size}\tfixture")
    path.write_text("\n".join(lines) + "\n")
