"""Simulated genotypes and GWAS, and S-LDSC recovering a planted enrichment.

One synthetic genome (6 x 1 Mb random sequence with an N gap; TF, DNase and histone peaks;
bound and unbound motif instances; regulatory elements) is built once per module; genotypes
are simulated on it as the default run does (out-of-Africa, 500 + 3000 individuals,
recombination 1e-7), then two traits: 5x enrichment in the functional SNPs, and none.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from amber.data.truth import ELEMENT_COLUMNS, INSTANCE_COLUMNS
from amber.ldsc.annot import read_reference_snps, simulated_baseline, write_annotation_set
from amber.ldsc.genotypes import GenotypeConfig, simulate_genotypes
from amber.ldsc.gwas import Trait, functional_mask, simulate_gwas, variance_ratio
from amber.ldsc.ldscore import Window, compute_ldscores
from amber.ldsc.plink import PlinkError, decode_bed, encode_bed, read_bim, read_plink
from amber.ldsc.sldsc import regress

CHROMS = [f"chr{i}" for i in range(1, 7)]
LENGTH = 1_000_000
GAP = (300_000, 320_000)  # N run on chr2


def _intervals(rng, n: int, width: int, length: int) -> np.ndarray:
    starts = np.sort(rng.choice(np.arange(2_000, length - 2_000 - width), n, replace=False))
    return np.stack([starts, starts + width], axis=1)


@pytest.fixture(scope="module")
def genome(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("ldsc_genome")
    rng = np.random.default_rng(11)
    peaks = {"cellA|TF1|None": [], "cellA|DNase|None": [], "cellA|H3K27ac|None": []}
    motifs, elements = [], []
    with open(tmp / "genome.fa", "w") as fasta:
        for chrom in CHROMS:
            seq = rng.choice(np.array(list("ACGT")), size=LENGTH)
            if chrom == "chr2":
                seq[GAP[0] : GAP[1]] = "N"
            text = "".join(seq)
            fasta.write(f">{chrom}\n")
            fasta.writelines(text[i : i + 60] + "\n" for i in range(0, LENGTH, 60))
            # 120 elements of 600 bp: a TF peak, a DNase peak and 2 motifs in each; histone
            # peaks and unbound motifs elsewhere. ~6% of the genome is functional.
            for k, (s, e) in enumerate(_intervals(rng, 120, 600, LENGTH)):
                elements.append(
                    (f"{chrom}.e{k}", chrom, s, e, "enhancer" if k % 2 else "promoter", k % 5 == 0)
                )
                peaks["cellA|TF1|None"].append((chrom, s + 100, s + 400))
                peaks["cellA|DNase|None"].append((chrom, s + 50, s + 550))
                motifs.append((chrom, s + 120, s + 134, "cellA"))
                motifs.append((chrom, s + 300, s + 314, "cellA"))
            for s, e in _intervals(rng, 60, 800, LENGTH):
                peaks["cellA|H3K27ac|None"].append((chrom, s, e))
                motifs.append((chrom, s + 10, s + 24, ""))
    (tmp / "peaks").mkdir()
    features = pd.DataFrame(
        {
            "name": list(peaks),
            "cell_type": "cellA",
            "assay": ["TF1", "DNase", "H3K27ac"],
            "category": ["TF", "DNase", "Histone"],
        }
    )
    features.to_csv(tmp / "features.tsv", sep="\t", index=False)
    for name, rows in peaks.items():
        stem = name.replace("|", "_")
        pd.DataFrame(rows).to_csv(
            tmp / "peaks" / f"{stem}.bed", sep="\t", header=False, index=False
        )
    pd.DataFrame(
        [
            (f"m{i}", c, s, e, "+", "TF1", "MA0000.1", "", "A" * 14, b, 10.0)
            for i, (c, s, e, b) in enumerate(motifs)
        ],
        columns=list(INSTANCE_COLUMNS),
    ).to_csv(tmp / "motif_instances.tsv", sep="\t", index=False)
    pd.DataFrame(
        [
            (i, c, s, e, kind, "cellA", int(kind == "promoter"), "g", int(cgi), "cellA", 2)
            for i, c, s, e, kind, cgi in elements
        ],
        columns=list(ELEMENT_COLUMNS),
    ).to_csv(tmp / "elements.tsv", sep="\t", index=False)
    cfg = GenotypeConfig(n_reference=500, n_panel=3000, recombination_rate=1e-7, seed=5)
    summary = simulate_genotypes(tmp / "genome.fa", tmp / "geno", cfg)
    return {"tmp": tmp, "summary": summary, "cfg": cfg}


def test_plink_round_trip_with_missing_and_padding() -> None:
    rng = np.random.default_rng(0)
    for n in (1, 4, 7, 10):
        g = rng.integers(-1, 3, size=(13, n)).astype(np.int8)
        data = encode_bed(g)
        assert data[:3] == bytes([0x6C, 0x1B, 0x01])
        assert len(data) == 3 + 13 * -(-n // 4)
        assert (decode_bed(data, 13, n) == g).all()
    # Known bytes: individuals (2, 1, 0, missing) of A1 copies -> codes 00, 10, 11, 01.
    assert encode_bed(np.array([[2, 1, 0, -1]], dtype=np.int8))[3] == 0b01_11_10_00
    with pytest.raises(PlinkError, match="magic"):
        decode_bed(b"\x00\x00\x01" + data[3:], 13, 10)
    with pytest.raises(PlinkError, match="SNP-major"):
        decode_bed(data[:2] + b"\x00" + data[3:], 13, 10)
    with pytest.raises(PlinkError, match="expected"):
        decode_bed(data, 12, 10)


def test_genotypes_are_placed_where_models_can_score_them(genome) -> None:
    tmp, cfg = genome["tmp"], genome["cfg"]
    summary = genome["summary"]
    assert 6000 < summary["n_snps"] < 20000
    seqs = {}
    name = None
    for line in (tmp / "genome.fa").read_text().splitlines():
        if line.startswith(">"):
            name = line[1:]
            seqs[name] = []
        else:
            seqs[name].append(line)
    seqs = {k: "".join(v) for k, v in seqs.items()}
    vcf = pd.read_csv(
        tmp / "geno" / "snps.vcf",
        sep="\t",
        comment="#",
        header=None,
        names=["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"],
    )
    assert len(vcf) == summary["n_snps"]
    ref_bases = np.array([seqs[c][p - 1] for c, p in zip(vcf["CHROM"], vcf["POS"], strict=True)])
    assert (ref_bases == vcf["REF"].to_numpy()).all()
    assert (vcf["REF"] != vcf["ALT"]).all()
    complement = {"A": "T", "C": "G", "G": "C", "T": "A"}
    assert not any(complement[r] == a for r, a in zip(vcf["REF"], vcf["ALT"], strict=True))
    assert (vcf["POS"] > cfg.margin).all() and (vcf["POS"] <= LENGTH - cfg.margin).all()
    gap = (vcf["CHROM"] == "chr2") & vcf["POS"].between(GAP[0] + 1, GAP[1])
    assert not gap.any()
    for code, chrom in enumerate(CHROMS, start=1):
        genotypes, bim, fam = read_plink(tmp / "geno" / "reference" / f"ref.{code}")
        assert len(fam) == cfg.n_reference
        assert (bim["A2"].to_numpy() == vcf.loc[vcf["CHROM"] == chrom, "REF"].to_numpy()).all()
        assert np.allclose(bim["CM"], bim["BP"] * cfg.recombination_rate * 100)
        freq = genotypes.mean(axis=1) / 2
        assert (np.minimum(freq, 1 - freq) >= cfg.min_maf - 1e-12).all()
        panel = read_bim(tmp / "geno" / "panel" / f"panel.{code}.bim")
        assert (panel["SNP"] == bim["SNP"]).all()
    # Realistic LD: neighbouring SNPs correlate far more than distant ones.
    genotypes, bim, _ = read_plink(tmp / "geno" / "reference" / "ref.1")
    r = np.corrcoef(genotypes[:400].astype(float))
    d = np.abs(bim["BP"].to_numpy()[:400, None] - bim["BP"].to_numpy()[None, :400])
    near, far = r[(d > 0) & (d < 2_000)] ** 2, r[d > 50_000] ** 2
    assert near.mean() > 5 * far.mean()


def test_functional_mask_uses_bound_motifs_and_tf_dnase_peaks() -> None:
    motifs = pd.DataFrame(
        {"chrom": ["c1", "c1"], "start": [100, 500], "end": [110, 510], "bound_in": ["liver", ""]}
    )
    peaks = [pd.DataFrame({"Chromosome": ["c1"], "Start": [1000], "End": [1100]})]
    pos = np.array([100, 101, 110, 111, 505, 1000, 1001, 1100, 1101])  # 1-based
    mask = functional_mask(np.array(["c1"] * pos.size), pos, motifs, peaks)
    assert mask.tolist() == [False, True, True, False, False, False, True, True, False]
    assert variance_ratio(5.0, 0.1) == pytest.approx(5 * 0.9 / 0.5)
    with pytest.raises(ValueError, match="impossible"):
        variance_ratio(5.0, 0.25)


@pytest.fixture(scope="module")
def regression(genome) -> dict:
    tmp = genome["tmp"]
    traits = [Trait("t5x", 0.1, 5.0), Trait("null", 0.1, 1.0)]
    truth = simulate_gwas(
        tmp / "geno",
        tmp / "gwas",
        traits,
        n_gwas=100_000,
        motifs=tmp / "motif_instances.tsv",
        features=tmp / "features.tsv",
        peaks_dir=tmp / "peaks",
        seed=2,
    )
    codes = {int(c): n for n, c in genome["summary"]["chromosome_codes"].items()}
    bfile = str(tmp / "geno" / "reference" / "ref.@")
    snps = read_reference_snps(bfile, codes)
    base = simulated_baseline(snps, tmp / "elements.tsv", tmp / "genome.fa", bfile)
    write_annotation_set(snps, base, tmp / "annot" / "baseline", "baseline")
    chroms = list(range(1, 7))
    for name, annot in (
        ("baseline", str(tmp / "annot" / "baseline" / "baseline.@")),
        ("truth", str(tmp / "gwas" / "truth" / "truth.@")),
        ("weights", None),
    ):
        compute_ldscores(
            bfile,
            str(tmp / "ld" / name / f"{name}.@"),
            chroms,
            annot=annot,
            window=Window(1.0, "cm"),
        )
    tables = regress(
        {t.name: tmp / "gwas" / f"{t.name}.sumstats.gz" for t in traits},
        str(tmp / "ld" / "baseline" / "baseline.@"),
        str(tmp / "ld" / "weights" / "weights.@"),
        tested=str(tmp / "ld" / "truth" / "truth.@"),
        frq=str(tmp / "geno" / "reference" / "ref.@"),
        n_blocks=200,
    )
    return {"truth": truth, "tables": tables, "tmp": tmp}


def test_truth_annotation_matches_the_genome(regression) -> None:
    tmp, truth = regression["tmp"], regression["truth"]
    func = truth["functional"]
    assert 0.03 < func["fraction_common"] < 0.1
    annot = pd.concat(
        [pd.read_csv(tmp / "gwas" / "truth" / f"truth.{c}.annot.gz", sep="\t") for c in range(1, 7)]
    )
    assert int(annot["functional"].sum()) == func["n_functional"]
    # Histone-only peaks and unbound motifs do not make a SNP functional.
    hist = pd.read_csv(tmp / "peaks" / "cellA_H3K27ac_None.bed", sep="\t", header=None)
    inside = functional_mask(
        annot["SNP"].str.split(":").str[0].to_numpy(),
        annot["BP"].to_numpy(),
        None,
        [hist.rename(columns={0: "Chromosome", 1: "Start", 2: "End"})],
    )
    assert annot.loc[inside, "functional"].mean() < 0.2
    t5 = truth["traits"]["t5x"]
    assert t5["variance_ratio"] > 5
    assert 3.5 < t5["realised_enrichment"] < 6.5


def test_s_ldsc_recovers_the_planted_enrichment(regression) -> None:
    truth = regression["truth"]["traits"]
    for trait, planted in (("t5x", 5.0), ("null", 1.0)):
        row = regression["tables"][trait].set_index("annotation").loc["functional"]
        lo = row["enrichment"] - 1.96 * row["enrichment_se"]
        hi = row["enrichment"] + 1.96 * row["enrichment_se"]
        assert lo <= planted <= hi, (trait, row["enrichment"], row["enrichment_se"])
        assert lo <= truth[trait]["realised_enrichment"] <= hi
        assert 0.3 < row["intercept"] < 3.0  # free; finite reference panels push it above 1
        assert row["h2"] == pytest.approx(0.1, rel=0.35)
    enriched = regression["tables"]["t5x"].set_index("annotation").loc["functional"]
    assert (
        enriched["enrichment_p"] < 0.01
        and enriched["enrichment"] - 1.96 * enriched["enrichment_se"] > 1
    )
    assert enriched["tau_star"] > 0
    null = regression["tables"]["null"].set_index("annotation").loc["functional"]
    assert null["enrichment_p"] > 0.05


def test_genotype_summary_is_documented(genome) -> None:
    summary = json.loads((genome["tmp"] / "geno" / "genotypes.json").read_text())
    assert summary["demography"]["sampled_population"] == "CEU"
    assert summary["chromosome_codes"] == {c: i for i, c in enumerate(CHROMS, start=1)}
    assert summary["cm_per_bp"] == pytest.approx(1e-5)


def test_parquet_inputs_and_m_without_5_50_give_the_same_fit(regression, tmp_path) -> None:
    """S-LDSC inputs as users get them: summary statistics, annotations and LD scores as
    Parquet give the same fit as ldsc's text files; a file set shipping only ``.l2.M``
    is refused with the option to use, and accepted with it (ldsc's --not-M-5-50)."""
    from amber.ldsc.fsutil import read_table
    from amber.ldsc.sumstats import munge_file

    tmp = regression["tmp"]
    folder = tmp_path / "pq"
    for name in ("baseline", "truth", "weights"):
        (folder / name).mkdir(parents=True)
        for path in sorted((tmp / "ld" / name).iterdir()):
            stem = path.name.removesuffix(".gz")
            if stem.endswith((".l2.ldscore", ".annot")):
                read_table(path).to_parquet(folder / name / f"{stem}.parquet")
            else:
                (folder / name / path.name).write_bytes(path.read_bytes())
    sumstats = tmp / "gwas" / "t5x.sumstats.gz"
    read_table(sumstats).to_parquet(tmp_path / "t5x.parquet")  # no .parquet name needed
    munge_file(tmp_path / "t5x.parquet", tmp_path / "t5x.sumstats.gz")
    assert read_table(tmp_path / "t5x.sumstats.gz").equals(read_table(sumstats))

    def fit(root: Path, **options) -> pd.DataFrame:
        return regress(
            {"t5x": tmp_path / "t5x.sumstats.gz"},
            str(root / "baseline" / "baseline.@"),
            str(root / "weights" / "weights.@"),
            tested=str(root / "truth" / "truth.@"),
            frq=str(tmp / "geno" / "reference" / "ref.@"),
            **options,
        )["t5x"]

    pd.testing.assert_frame_equal(fit(folder), regression["tables"]["t5x"])
    for path in folder.glob("*/*.l2.M_5_50"):
        path.unlink()
    with pytest.raises(FileNotFoundError, match="give --not-M-5-50"):
        fit(folder)
    all_snps = fit(folder, m_5_50=False).set_index("annotation").loc["functional"]
    common = regression["tables"]["t5x"].set_index("annotation").loc["functional"]
    assert all_snps["h2"] != common["h2"]  # counted over all SNPs, not MAF > 5 %
    assert all_snps["enrichment"] == pytest.approx(common["enrichment"], rel=0.5)


def test_ld_scores_are_written_at_full_precision(regression) -> None:
    """ldsc-l2's default keeps every digit (%.6g alone limited agreement with ldsc to ~5e-6)."""
    import gzip

    path = regression["tmp"] / "ld" / "weights" / "weights.1.l2.ldscore.gz"
    with gzip.open(path, "rt") as handle:
        rows = [line.split() for line in handle.read().splitlines()[1:200]]
    digits = [len(r[-1].replace(".", "").replace("-", "").lstrip("0")) for r in rows]
    assert max(digits) >= 12, rows[:3]
