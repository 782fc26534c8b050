"""Reference genotypes with realistic LD, simulated with msprime on the genome's chromosomes.

Demography: the three-population out-of-Africa model of Gutenkunst et al. (2009, PLoS Genet
5:e1000695; the parameters stdpopsim calls ``OutOfAfrica_3G09``), built here as an
``msprime.Demography`` because msprime has no built-in copy and stdpopsim is not a
dependency. Only the European-like population (CEU) is sampled: its bottleneck and recent
exponential growth give LD decaying over tens to hundreds of kb, as in 1000 Genomes EUR.
Recombination is uniform (``1e-8`` per bp per generation, i.e. 1 cM/Mb), so the ``.bim``
cM column is ``BP * rate * 100``.

Mutations use a binary (ancestral 0 / derived 1) model and only sites with exactly one
mutation are kept, so every SNP is biallelic. msprime's 0/1 alleles are not nucleotides:
REF is the simulated genome's base at the position, ALT a different base (a transition
with probability 2/3, else the transversion that is not REF's complement, so no SNP is
strand-ambiguous, the kind ldsc's munge step drops). The reference genome carries the
derived allele with probability equal to its frequency, as a randomly drawn haplotype
would.

Two samples are drawn from the same simulation: the *reference panel* (1000 Genomes EUR
stand-in; LD scores are computed from it) and a larger *GWAS panel* whose LD generates the
simulated summary statistics (:mod:`amber.ldsc.gwas`). SNPs keep MAF >= ``min_maf`` in the
reference panel, lie at least ``margin`` bp from either chromosome end (so a model's
``seq_len`` window around them fits) and never on an ``N``.

Outputs (``out``): ``reference/ref.<c>.{bed,bim,fam,frq}`` and ``panel/panel.<c>.{bed,bim,fam}``
per chromosome code ``c`` (see :func:`chromosome_codes`), ``snps.vcf`` (sites only, the
variant set every model scores) and ``genotypes.json`` (settings, counts, chromosome codes).
The ``.bim`` A1 is ALT and A2 is REF (PLINK 1.9's reading of a VCF); SNP IDs are
``<chrom>:<pos>``.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from amber.fileio import atomic_path
from amber.ldsc.fsutil import atomic_dir
from amber.ldsc.plink import write_plink
from amber.progress import Progress

log = logging.getLogger("amber")

BASES = "ACGT"
# REF -> (transition, transversion that is not REF's complement)
_ALT_CHOICES = {"A": ("G", "C"), "C": ("T", "A"), "G": ("A", "T"), "T": ("C", "G")}

# Gutenkunst et al. 2009, Table 1 (as in stdpopsim HomSap OutOfAfrica_3G09). Sizes are
# diploid individuals, rates per generation, times in years / generation_time.
OOA_PARAMETERS: dict[str, float] = {
    "generation_time": 25.0,
    "N_A": 7300,
    "N_B": 2100,
    "N_AF": 12300,
    "N_EU0": 1000,
    "N_AS0": 510,
    "r_EU": 0.004,
    "r_AS": 0.0055,
    "T_AF_years": 220e3,
    "T_B_years": 140e3,
    "T_EU_AS_years": 21.2e3,
    "m_AF_B": 25e-5,
    "m_AF_EU": 3e-5,
    "m_AF_AS": 1.9e-5,
    "m_EU_AS": 9.6e-5,
    "mutation_rate": 2.35e-8,
}


@dataclass(frozen=True)
class GenotypeConfig:
    n_reference: int = 500
    n_panel: int = 3000
    min_maf: float = 0.05
    margin: int = 500
    recombination_rate: float = 1e-8
    mutation_rate: float = OOA_PARAMETERS["mutation_rate"]
    max_snps_per_mb: float = 0.0  # 0: keep every SNP that passes the filters
    seed: int = 1

    def validate(self) -> None:
        if self.n_reference < 10:
            raise ValueError(f"n_reference={self.n_reference}: need at least 10 individuals")
        if self.n_panel < 1:
            raise ValueError(f"n_panel={self.n_panel}: need at least 1 individual")
        if not 0 <= self.min_maf < 0.5:
            raise ValueError(f"min_maf={self.min_maf} must be in [0, 0.5)")
        if self.margin < 0:
            raise ValueError(f"margin={self.margin} must be >= 0")
        if self.recombination_rate <= 0 or self.mutation_rate <= 0:
            raise ValueError("recombination_rate and mutation_rate must be > 0")
        if self.max_snps_per_mb < 0:
            raise ValueError(f"max_snps_per_mb={self.max_snps_per_mb} must be >= 0")


def out_of_africa():
    """The Gutenkunst 2009 three-population model as an ``msprime.Demography``.

    Present-day populations YRI (constant), CEU and CHB (exponential growth since their
    split); going back: CEU and CHB merge into the bottlenecked out-of-Africa population
    (OOA), which merges with the African population (AMH), whose size changes to the
    ancestral size (ANC) further back.
    """
    import msprime

    p = OOA_PARAMETERS
    gen = p["generation_time"]
    t_eu_as = p["T_EU_AS_years"] / gen
    n_eu = p["N_EU0"] / math.exp(-p["r_EU"] * t_eu_as)
    n_as = p["N_AS0"] / math.exp(-p["r_AS"] * t_eu_as)
    d = msprime.Demography()
    d.add_population(name="YRI", initial_size=p["N_AF"])
    d.add_population(name="CEU", initial_size=n_eu, growth_rate=p["r_EU"])
    d.add_population(name="CHB", initial_size=n_as, growth_rate=p["r_AS"])
    d.add_population(name="OOA", initial_size=p["N_B"], description="out-of-Africa bottleneck")
    d.add_population(name="AMH", initial_size=p["N_AF"], description="anatomically modern humans")
    d.add_population(name="ANC", initial_size=p["N_A"], description="ancestral population")
    d.set_symmetric_migration_rate(["CEU", "CHB"], p["m_EU_AS"])
    d.set_symmetric_migration_rate(["YRI", "CHB"], p["m_AF_AS"])
    d.set_symmetric_migration_rate(["YRI", "CEU"], p["m_AF_EU"])
    d.add_population_split(time=t_eu_as, derived=["CEU", "CHB"], ancestral="OOA")
    d.add_symmetric_migration_rate_change(
        time=t_eu_as, populations=["YRI", "OOA"], rate=p["m_AF_B"]
    )
    d.add_population_split(time=p["T_B_years"] / gen, derived=["YRI", "OOA"], ancestral="AMH")
    d.add_population_split(time=p["T_AF_years"] / gen, derived=["AMH"], ancestral="ANC")
    return d


def chromosome_codes(names: list[str]) -> dict[str, int]:
    """FASTA record name -> PLINK/ldsc chromosome code (an integer, as ldsc requires).

    ``chr7``/``7`` -> 7 when every name is such a number (and they are distinct); otherwise
    the 1-based position in the FASTA.
    """
    numbers = [re.fullmatch(r"(?:chr)?(\d+)", n, flags=re.IGNORECASE) for n in names]
    if all(numbers):
        codes = [int(m.group(1)) for m in numbers]  # type: ignore[union-attr]
        if len(set(codes)) == len(codes) and min(codes) >= 1:
            return dict(zip(names, codes, strict=True))
    return {name: i + 1 for i, name in enumerate(names)}


@dataclass
class ChromosomeGenotypes:
    """Simulated SNPs of one chromosome (SNP rows in position order)."""

    name: str
    code: int
    positions: np.ndarray  # 1-based, int64
    ref: list[str]
    alt: list[str]
    reference: np.ndarray  # ALT counts, (SNPs, n_reference) int8
    panel: np.ndarray  # ALT counts, (SNPs, n_panel) int8


def _seeds(seed: int, n: int) -> list[tuple[int, int, int]]:
    """Independent (ancestry, mutation, allele) seeds per chromosome from one seed."""
    children = np.random.SeedSequence(seed).spawn(n)
    return [tuple(int(x) % (2**31 - 2) + 1 for x in c.generate_state(3)) for c in children]


def simulate_chromosome(
    name: str, code: int, bases: np.ndarray, cfg: GenotypeConfig, seeds: tuple[int, int, int]
) -> ChromosomeGenotypes:
    """Simulate, filter and allele-map the SNPs of one chromosome (``bases``: codes 0-3, 4=N)."""
    import msprime

    length = int(bases.size)
    n_total = cfg.n_reference + cfg.n_panel
    ts = msprime.sim_ancestry(
        samples=[msprime.SampleSet(n_total, population="CEU", ploidy=2)],
        demography=out_of_africa(),
        sequence_length=length,
        recombination_rate=cfg.recombination_rate,
        random_seed=seeds[0],
    )
    mts = msprime.sim_mutations(
        ts,
        rate=cfg.mutation_rate,
        model=msprime.BinaryMutationModel(),
        discrete_genome=True,
        random_seed=seeds[1],
    )
    tables = mts.tables
    site_pos = tables.sites.position.astype(np.int64)  # 0-based
    n_mut = np.bincount(tables.mutations.site, minlength=mts.num_sites)
    in_bounds = (site_pos >= cfg.margin) & (site_pos <= length - 1 - cfg.margin)
    ok_base = np.zeros(site_pos.size, dtype=bool)
    ok_base[in_bounds] = bases[site_pos[in_bounds]] < 4
    candidate = (n_mut == 1) & in_bounds & ok_base
    keep_ids = np.flatnonzero(candidate)
    if keep_ids.size:
        mts = mts.delete_sites(np.flatnonzero(~candidate))
    haplotypes = np.zeros((keep_ids.size, 2 * n_total), dtype=np.int8)
    if keep_ids.size:
        for i, variant in enumerate(mts.variants()):
            haplotypes[i] = variant.genotypes
    derived = haplotypes[:, 0::2] + haplotypes[:, 1::2]  # individual i = nodes 2i, 2i+1
    positions0 = site_pos[keep_ids]

    ref_derived = derived[:, : cfg.n_reference]
    freq = ref_derived.sum(axis=1) / (2.0 * cfg.n_reference)
    common = np.minimum(freq, 1 - freq) >= max(cfg.min_maf, 1e-12)
    rng = np.random.default_rng(seeds[2])
    if cfg.max_snps_per_mb > 0:
        cap = int(cfg.max_snps_per_mb * length / 1e6)
        idx = np.flatnonzero(common)
        if idx.size > cap:
            drop = rng.choice(idx, size=idx.size - cap, replace=False)
            common[drop] = False
    derived = derived[common]
    positions0 = positions0[common]

    m = positions0.size
    ref_bases = [BASES[b] for b in bases[positions0]]
    transition = rng.random(m) < 2 / 3
    alt_bases = [_ALT_CHOICES[r][0 if t else 1] for r, t in zip(ref_bases, transition, strict=True)]
    freq_all = derived.sum(axis=1) / (2.0 * n_total)
    ref_is_derived = rng.random(m) < freq_all
    alt_counts = np.where(ref_is_derived[:, None], 2 - derived, derived).astype(np.int8)
    return ChromosomeGenotypes(
        name=name,
        code=code,
        positions=positions0 + 1,
        ref=ref_bases,
        alt=alt_bases,
        reference=np.ascontiguousarray(alt_counts[:, : cfg.n_reference]),
        panel=np.ascontiguousarray(alt_counts[:, cfg.n_reference :]),
    )


def bim_table(chrom: ChromosomeGenotypes, recombination_rate: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "CHR": chrom.code,
            "SNP": [f"{chrom.name}:{p}" for p in chrom.positions],
            "CM": chrom.positions * recombination_rate * 100.0,
            "BP": chrom.positions,
            "A1": chrom.alt,
            "A2": chrom.ref,
        }
    )


def frq_table(bim: pd.DataFrame, genotypes: np.ndarray) -> pd.DataFrame:
    """PLINK ``--freq`` style table: MAF is the minor allele frequency (ldsc reads it).

    Written with 10 significant digits so every reader parses the same number: a SNP at
    exactly MAF 0.05 then falls outside ldsc's 0.05 < FRQ < 0.95 overlap set although ldsc's
    ``.M_5_50`` (MAF computed as 1 - 0.95) counts it, as with PLINK's own .frq files."""
    from amber.ldsc.ldscore import snp_filter

    called = genotypes >= 0
    _, maf = snp_filter(genotypes)
    return pd.DataFrame(
        {
            "CHR": bim["CHR"].to_numpy(),
            "SNP": bim["SNP"].to_numpy(),
            "A1": bim["A1"].to_numpy(),
            "A2": bim["A2"].to_numpy(),
            "MAF": maf,
            "NCHROBS": 2 * called.sum(axis=1),
        }
    )


def _vcf_header(contigs: list[tuple[str, int]]) -> list[str]:
    lines = [
        "##fileformat=VCFv4.2",
        "##source=amber simulate-genotypes (msprime, Gutenkunst 2009 out-of-Africa, CEU)",
        '##INFO=<ID=AF,Number=A,Type=Float,Description="ALT frequency in the reference panel">',
    ]
    lines += [f"##contig=<ID={name},length={length}>" for name, length in contigs]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    return lines


def simulate_genotypes(fasta: str | Path, out: str | Path, cfg: GenotypeConfig) -> dict[str, Any]:
    """Simulate every chromosome of ``fasta`` and write the outputs listed in the module doc."""
    from amber.data.genome import chromosome_codes as base_codes
    from amber.data.genome import open_fasta

    cfg.validate()
    out = Path(out)
    with open_fasta(fasta) as handle:
        names = list(handle.keys())
        lengths = {name: len(handle[name]) for name in names}
        codes = chromosome_codes(names)
        seeds = _seeds(cfg.seed, len(names))
        chroms = []
        for name, seed in (
            p := Progress(zip(names, seeds, strict=True), total=len(names), desc="simulate")
        ):
            if lengths[name] <= 2 * cfg.margin:
                log.warning(
                    "%s (%d bp) is too short for margin %d: no SNPs",
                    name,
                    lengths[name],
                    cfg.margin,
                )
            chrom = simulate_chromosome(name, codes[name], base_codes(handle, name), cfg, seed)
            chroms.append(chrom)
            p.set(chrom=name, snps=len(chrom.positions))
    total = sum(len(c.positions) for c in chroms)
    if total == 0:
        raise ValueError(f"{fasta}: no SNP passed the filters (min_maf, margin, N bases)")

    vcf_lines = _vcf_header([(n, lengths[n]) for n in names])
    per_chrom = {}
    with atomic_dir(out / "reference") as ref_dir, atomic_dir(out / "panel") as panel_dir:
        for chrom in chroms:
            if not len(chrom.positions):
                continue
            bim = bim_table(chrom, cfg.recombination_rate)
            write_plink(
                ref_dir / f"ref.{chrom.code}",
                chrom.reference,
                bim,
                [f"ref{i + 1}" for i in range(cfg.n_reference)],
            )
            frq_table(bim, chrom.reference).to_csv(
                ref_dir / f"ref.{chrom.code}.frq", sep="\t", index=False, float_format="%.10g"
            )
            write_plink(
                panel_dir / f"panel.{chrom.code}",
                chrom.panel,
                bim,
                [f"gwas{i + 1}" for i in range(cfg.n_panel)],
            )
            alt_freq = chrom.reference.sum(axis=1) / (2.0 * cfg.n_reference)
            for pos, snp, ref, alt, af in zip(
                chrom.positions, bim["SNP"], chrom.ref, chrom.alt, alt_freq, strict=True
            ):
                vcf_lines.append(f"{chrom.name}\t{pos}\t{snp}\t{ref}\t{alt}\t.\tPASS\tAF={af:.4g}")
            per_chrom[chrom.name] = {"code": chrom.code, "snps": int(len(chrom.positions))}
    with atomic_path(out / "snps.vcf") as tmp:
        tmp.write_text("\n".join(vcf_lines) + "\n")
    summary = {
        "config": asdict(cfg),
        "demography": {
            "model": "Gutenkunst 2009 out-of-Africa (3 populations)",
            "sampled_population": "CEU",
            **OOA_PARAMETERS,
        },
        "chromosome_codes": codes,
        "chromosomes": per_chrom,
        "n_snps": int(total),
        "cm_per_bp": cfg.recombination_rate * 100.0,
    }
    with atomic_path(out / "genotypes.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def reference_vcf(bfile: str, fasta: str | Path, out: str | Path) -> dict[str, Any]:
    """Sites VCF (+ ``genotypes.json`` beside it) of an existing reference panel's SNPs
    (e.g. the 1000 Genomes EUR files of the paper run, ``bfile`` with ``@``).

    ``.bim`` alleles are not ordered REF/ALT, so REF is whichever allele is the genome's
    base at the position (strand-flipped alleles are complemented); SNPs matching neither,
    off the genome, or not single-base are left out and counted. The ID is the .bim SNP.
    """
    from amber.data.genome import open_fasta
    from amber.ldsc.plink import chromosome_prefixes, read_bim

    complement = {"A": "T", "C": "G", "G": "C", "T": "A"}
    out = Path(out)
    counts = {
        "snps": 0,
        "written": 0,
        "no_contig": 0,
        "not_snv": 0,
        "ref_mismatch": 0,
        "complemented": 0,
    }
    with open_fasta(fasta) as handle:
        names = list(handle.keys())
        lengths = {n: len(handle[n]) for n in names}
        code_names: dict[int, str] = {}
        lines = _vcf_header([(n, lengths[n]) for n in names])
        lines[1] = f"##source=amber ldsc-reference-vcf from {bfile}"
        for code, prefix in chromosome_prefixes(bfile).items():
            bim = read_bim(f"{prefix}.bim")
            counts["snps"] += len(bim)
            name = next((n for n in (f"chr{code}", str(code)) if n in lengths), None)
            if name is None:
                counts["no_contig"] += len(bim)
                continue
            code_names[code] = name
            seq = handle[name][0 : lengths[name]].upper()
            for snp, bp, a1, a2 in zip(bim["SNP"], bim["BP"], bim["A1"], bim["A2"], strict=True):
                a1, a2 = str(a1).upper(), str(a2).upper()
                if a1 not in complement or a2 not in complement or not 1 <= bp <= len(seq):
                    counts["not_snv"] += 1
                    continue
                base = seq[bp - 1]
                if base not in (a1, a2) and base in (complement[a1], complement[a2]):
                    a1, a2 = complement[a1], complement[a2]
                    counts["complemented"] += 1
                if base == a2:
                    ref, alt = a2, a1
                elif base == a1:
                    ref, alt = a1, a2
                else:
                    counts["ref_mismatch"] += 1
                    continue
                lines.append(f"{name}\t{bp}\t{snp}\t{ref}\t{alt}\t.\tPASS\t.")
                counts["written"] += 1
    if not counts["written"]:
        raise ValueError(f"{bfile}: no SNP could be placed on {fasta} ({counts})")
    with atomic_path(out / "snps.vcf") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    summary = {
        "source": bfile,
        "chromosome_codes": {v: k for k, v in code_names.items()},
        "counts": counts,
    }
    with atomic_path(out / "genotypes.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
    log.info("reference VCF: %s", counts)
    return summary
