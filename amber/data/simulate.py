"""A deterministic simulated genome with a regulatory grammar: the workflow's offline default data.

The genome is built chromosome by chromosome from a seed:

* **Background**: bases drawn with a regional ("isochore") G+C probability around
  :attr:`SimConfig.gc_content`, then most CpG dinucleotides are "deaminated" (CG -> TG or
  CA, as methylated CpGs decay in real genomes). That leaves the CpG depletion of a
  vertebrate genome (CpG observed/expected about 0.2-0.3) with fully vectorised numpy code.
* **N gaps**: a run of Ns at both chromosome ends (telomeres) and one internal gap.
* **Regulatory elements**: promoters, enhancers and insulators, each built from a grammar
  *template* (see :data:`TEMPLATES`) that places real JASPAR motifs (sampled from the PFM)
  with spacing rules. Housekeeping and neural promoters are CpG islands (GC- and CpG-rich).
* **Decoys**: single motif instances in closed background (motif present, no peak), so a
  model has to learn context, not just motifs.
* **Repeats**: simple tandem repeats, poly-A runs and copies of one interspersed repeat
  family, placed away from elements and decoys.

Cell-type grammar (see :func:`evaluate_element`):

* A TF binds an instance in a cell type when the element is open there, the TF is
  expressed there (:data:`EXPRESSION`) and, for cooperative TFs (:data:`COOPERATIVE`), a
  partner motif lies within :data:`PARTNER_MAX_GAP` bp (CEBPB binds in liver only next to
  FOXA1 or HNF4A). REST is expressed in non-neural cells only; CTCF and YY1 everywhere.
* Insulators (CTCF) and CpG-island promoters are open in every cell type; other elements
  are open where one of their motifs belongs to a lineage "opener" TF (:data:`OPENERS`).
* Promoters are active where open, not bound by REST and (housekeeping, or a lineage
  motif is bound); enhancers are active where at least two of their motifs are bound,
  otherwise only primed.

Features per cell type: DNase (open elements), one TF feature per expressed TF (bound
instances), H3K4me3 (active promoters), H3K27ac (active promoters and enhancers) and
H3K4me1 (open enhancers). Feature names are DeepSEA style ``cell|assay|None``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
from tqdm import tqdm

from amber.data.features import Feature, bed_stem, write_features
from amber.data.motifs import (  # noqa: F401 - re-exported for the simulator's readers
    BASES,
    JASPAR_RELEASE,
    N_CODE,
    background_probs,
    decode_sequence,
    encode_sequence,
    load_motifs,
    parse_motif_specs,
    pwm_log_odds,
    reverse_complement,
    scan_pwm,
    score_site,
)
from amber.fileio import atomic_path

FASTA_LINE = 60

# Vertebrate (mostly human) matrices of JASPAR2024, pinned by versioned ID because bare
# names are ambiguous across species and releases.
DEFAULT_MOTIFS = (
    "CTCF=MA0139.2",
    "YY1=MA0095.2",
    "REST=MA0138.3",
    "HNF4A=MA0114.4",
    "FOXA1=MA0148.4",
    "CEBPB=MA0466.4",
    "GATA1=MA0035.4",
    "SPI1=MA0080.4",
    "NEUROD1=MA1109.2",
)
CELL_TYPES = ("liver", "erythroid", "myeloid", "neural")

# TF -> cell types where it is expressed (and so can bind).
EXPRESSION: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "CTCF": CELL_TYPES,
        "YY1": CELL_TYPES,
        "REST": ("liver", "erythroid", "myeloid"),
        "HNF4A": ("liver",),
        "FOXA1": ("liver",),
        "CEBPB": ("liver", "myeloid"),
        "GATA1": ("erythroid",),
        "SPI1": ("myeloid",),
        "NEUROD1": ("neural",),
    }
)
# Cell type -> lineage TFs whose motif opens an element there.
OPENERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "liver": ("FOXA1", "HNF4A"),
        "erythroid": ("GATA1",),
        "myeloid": ("SPI1", "CEBPB"),
        "neural": ("NEUROD1",),
    }
)
LINEAGE_TFS = frozenset(tf for tfs in OPENERS.values() for tf in tfs)
# (TF, cell type) -> partner TFs of which one must lie within PARTNER_MAX_GAP bp.
COOPERATIVE: Mapping[tuple[str, str], tuple[str, ...]] = MappingProxyType(
    {("CEBPB", "liver"): ("FOXA1", "HNF4A")}
)
PARTNER_MAX_GAP = 40
REPRESSOR = "REST"
# Edge-to-edge spacing (bp) of motif pairs planted by the templates.
SPACING: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "FOXA1-HNF4A": (10, 30),  # liver enhancer pair
        "SPI1-CEBPB": (0, 8),  # myeloid composite element
        "CEBPB-partner": (5, 35),  # CEBPB next to the liver pair (bound in liver)
        "CEBPB-distal": (80, 140),  # too far for cooperation (not bound in liver)
        "homotypic": (15, 80),
        "promoter": (10, 60),
    }
)
HISTONE_MARKS = ("H3K4me3", "H3K27ac", "H3K4me1")
BIN_SIZE = 200  # bin size for the summary's label-density statistics


@dataclass(frozen=True)
class Template:
    """A grammar template: element kind, CpG island or not, and weight within its kind."""

    name: str
    kind: str
    cgi: bool
    weight: float


TEMPLATES: tuple[Template, ...] = (
    Template("housekeeping_promoter", "promoter", True, 0.5),
    Template("neural_promoter", "promoter", True, 0.2),  # REST-repressed outside neurons
    Template("liver_promoter", "promoter", False, 0.1),
    Template("erythroid_promoter", "promoter", False, 0.1),
    Template("myeloid_promoter", "promoter", False, 0.1),
    Template("liver_pair", "enhancer", False, 0.18),
    Template("liver_homotypic", "enhancer", False, 0.08),
    Template("liver_distal_cebpb", "enhancer", False, 0.08),
    Template("erythroid_enhancer", "enhancer", False, 0.18),
    Template("myeloid_composite", "enhancer", False, 0.14),
    Template("myeloid_homotypic", "enhancer", False, 0.08),
    Template("neural_enhancer", "enhancer", False, 0.16),
    Template("bipotent_enhancer", "enhancer", False, 0.10),
    Template("insulator", "insulator", False, 1.0),
)
# Element extent in bp (a CpG island for promoters), before fitting the motif core.
ELEMENT_LENGTH: Mapping[str, tuple[int, int]] = MappingProxyType(
    {"promoter": (600, 1200), "enhancer": (300, 600), "insulator": (200, 320)}
)
# Simple tandem repeat units; none contains CG so they keep the CpG depletion.
TANDEM_UNITS = ("CA", "TA", "GA", "TG", "AAT", "TTC", "AAAT", "GGAA", "TTTA", "CAGA", "AATGG")

# Margins (bp): elements stay clear of N gaps by more than the widest histone domain.
N_MARGIN = 3000
ELEMENT_SEPARATION = 500
DECOY_MARGIN = 1000
REPEAT_MARGIN = 20


@dataclass(frozen=True)
class SimConfig:
    """Parameters of :func:`simulate_genome`; identical configs give identical files.

    Attributes:
        seed: random seed; every random draw derives from it.
        n_chroms: number of chromosomes, named ``{chrom_prefix}1`` .. ``{chrom_prefix}N``.
        chrom_length: length of each chromosome in bp (N gaps included).
        chrom_prefix: chromosome name prefix.
        cell_types: cell types to simulate, a subset of :data:`CELL_TYPES`.
        motifs: ``TF=JASPAR_ID`` pairs (versioned IDs); the TF names must be those of
            :data:`EXPRESSION` (the grammar refers to them).
        jaspar_release: pyjaspar release the motif IDs are read from.
        gc_content: mean G+C fraction of the background (before repeats and CpG islands).
        gc_sd: standard deviation of the regional G+C fraction between blocks.
        gc_block: block length in bp over which the regional G+C fraction is constant.
        cpg_retention: share of background CpG dinucleotides kept (about the CpG o/e).
        cgi_gc: G+C fraction of CpG-island promoters.
        cgi_cpg_retention: share of CpG dinucleotides kept in CpG islands.
        telomere_gap: Ns at each chromosome end.
        internal_gap: length of the one internal N gap per chromosome.
        promoters_per_mb: promoters per Mb of non-N sequence.
        enhancers_per_mb: enhancers per Mb.
        insulators_per_mb: CTCF insulators per Mb.
        decoys_per_mb: decoy motif instances (closed background, never bound) per Mb.
        tandem_repeats_per_mb: simple tandem repeats (20-120 bp) per Mb.
        polya_per_mb: poly-A (or poly-T) runs (10-40 bp) per Mb.
        interspersed_per_mb: copies of the interspersed repeat family per Mb.
        interspersed_divergence: substitution rate of interspersed copies vs. consensus.
        motif_sharpness: exponent applied to PFM columns before sampling a site (1 samples
            the PFM as is; larger values give sites closer to the consensus).
    """

    seed: int = 1
    n_chroms: int = 3
    chrom_length: int = 1_000_000
    chrom_prefix: str = "chr"
    cell_types: tuple[str, ...] = CELL_TYPES
    motifs: tuple[str, ...] = DEFAULT_MOTIFS
    jaspar_release: str = JASPAR_RELEASE
    gc_content: float = 0.41
    gc_sd: float = 0.02
    gc_block: int = 100_000
    cpg_retention: float = 0.2
    cgi_gc: float = 0.64
    cgi_cpg_retention: float = 0.8
    telomere_gap: int = 5_000
    internal_gap: int = 10_000
    promoters_per_mb: float = 24.0
    enhancers_per_mb: float = 45.0
    insulators_per_mb: float = 20.0
    decoys_per_mb: float = 120.0
    tandem_repeats_per_mb: float = 120.0
    polya_per_mb: float = 150.0
    interspersed_per_mb: float = 40.0
    interspersed_divergence: float = 0.12
    motif_sharpness: float = 1.5

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> ValueError:
            return ValueError(f"SimConfig.{name}={getattr(self, name)!r}: {why}")

        if self.n_chroms < 1:
            raise bad("n_chroms", "must be at least 1")
        min_len = 2 * self.telomere_gap + self.internal_gap + 2 * N_MARGIN + 20_000
        if self.chrom_length < min_len:
            raise bad("chrom_length", f"must be at least {min_len} with these N gaps")
        if self.telomere_gap < 1 or self.internal_gap < 1:
            raise bad("telomere_gap" if self.telomere_gap < 1 else "internal_gap", "must be >= 1")
        unknown = [c for c in self.cell_types if c not in CELL_TYPES]
        if not self.cell_types or unknown or len(set(self.cell_types)) != len(self.cell_types):
            raise bad("cell_types", f"must be distinct names from {', '.join(CELL_TYPES)}")
        tfs = set(parse_motif_specs(self.motifs))
        if tfs != set(EXPRESSION):
            raise bad("motifs", f"must give one JASPAR ID for each of {', '.join(EXPRESSION)}")
        for name in (
            "gc_content",
            "cgi_gc",
            "cpg_retention",
            "cgi_cpg_retention",
            "interspersed_divergence",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise bad(name, "must lie in [0, 1]")
        if self.motif_sharpness <= 0:
            raise bad("motif_sharpness", "must be > 0")
        for f in dataclasses.fields(self):
            if f.name.endswith("_per_mb") and getattr(self, f.name) < 0:
                raise bad(f.name, "must be >= 0")


@dataclass
class Instance:
    """One planted motif instance; ``sequence`` is the site on ``strand`` (motif orientation)."""

    chrom: str
    start: int
    end: int
    strand: str
    tf: str
    motif_id: str
    element_id: str
    sequence: str
    score: float
    bound_in: tuple[str, ...] = ()


@dataclass
class Element:
    """One regulatory element and its grammar state."""

    element_id: str
    chrom: str
    start: int
    end: int
    kind: str
    grammar: str
    cgi: bool
    core_start: int
    core_end: int
    instances: list[Instance] = field(default_factory=list)
    open_in: tuple[str, ...] = ()
    active_in: tuple[str, ...] = ()


@dataclass
class _Chromosome:
    name: str
    codes: np.ndarray
    gaps: list[tuple[int, int]]
    elements: list[Element]
    decoys: list[Instance]
    repeats: dict[str, int]


# --- sequences and motifs -------------------------------------------------------------


def sample_motif_site(
    pfm: np.ndarray, rng: np.random.Generator, sharpness: float = 1.0
) -> np.ndarray:
    """Draw one site (codes, motif orientation): each base from its PFM column.

    ``sharpness`` > 1 raises the column probabilities to that power (renormalised), which
    biases sites toward the consensus so they stay recognisable.
    """
    probs = np.asarray(pfm, dtype=float) ** sharpness
    probs /= probs.sum(axis=1, keepdims=True)
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0  # guard against rounding so a zero-probability last base is never drawn
    u = rng.random(len(probs))
    return (u[:, None] >= cum).sum(axis=1).astype(np.uint8)


# --- background -----------------------------------------------------------------------


def _pre_deamination_gc(gc: np.ndarray | float, retention: float) -> np.ndarray:
    """G+C to draw so that removing a (1 - retention) share of CpGs leaves ``gc``.

    With independent bases a CpG starts at a position with probability (g/2)^2 and each
    removal turns one C or G into T or A: gc = g - (1 - r) g^2 / 4; solve for g.
    """
    a = (1.0 - retention) / 4.0
    gc = np.asarray(gc, dtype=float)
    if a == 0:
        return gc
    return (1.0 - np.sqrt(1.0 - 4.0 * a * gc)) / (2.0 * a)


def random_bases(n: int, gc: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """Independent bases with G+C probability ``gc`` (scalar or per-position array)."""
    strong = rng.random(n) < gc
    pick = rng.integers(0, 2, n, dtype=np.uint8)
    return np.where(strong, 1 + pick, 3 * pick).astype(np.uint8)  # C/G or A/T


def deaminate_cpg(codes: np.ndarray, retention: float, rng: np.random.Generator) -> np.ndarray:
    """Copy of ``codes`` where each CpG survives with probability ``retention``.

    A lost CpG becomes TpG or CpA (methyl-C deamination on either strand). CpGs never
    overlap, and neither replacement can create a new CpG, so one pass suffices.
    """
    out = np.array(codes, dtype=np.uint8, copy=True)
    idx = np.flatnonzero((out[:-1] == 1) & (out[1:] == 2))
    hit = idx[rng.random(len(idx)) >= retention]
    on_minus = rng.integers(0, 2, len(hit)).astype(bool)
    out[hit[~on_minus]] = 3  # C -> T
    out[hit[on_minus] + 1] = 0  # G -> A
    return out


def background_sequence(
    length: int,
    gc: float,
    cpg_retention: float,
    rng: np.random.Generator,
    gc_sd: float = 0.0,
    gc_block: int = 100_000,
) -> np.ndarray:
    """CpG-depleted background: regional G+C per block, then CpG deamination."""
    n_blocks = max(1, math.ceil(length / gc_block))
    block_gc = np.clip(rng.normal(gc, gc_sd, n_blocks), 0.05, 0.95)
    per_base = np.repeat(_pre_deamination_gc(block_gc, cpg_retention), gc_block)[:length]
    return deaminate_cpg(random_bases(length, per_base, rng), cpg_retention, rng)


def gc_and_cpg(codes: np.ndarray) -> tuple[float, float]:
    """(G+C fraction, CpG observed/expected) of the non-N bases; CpGs across Ns not counted."""
    codes = np.asarray(codes)
    valid = codes != N_CODE
    n = int(valid.sum())
    if n == 0:
        return float("nan"), float("nan")
    c = int((codes == 1).sum())
    g = int((codes == 2).sum())
    cg = int(((codes[:-1] == 1) & (codes[1:] == 2)).sum())
    return (c + g) / n, (cg * n / (c * g) if c and g else float("nan"))


def interspersed_consensus(rng: np.random.Generator, length: int = 280) -> np.ndarray:
    """Consensus of a SINE-like repeat family: GC-rich body with CpGs and a poly-A tail."""
    body = deaminate_cpg(random_bases(length, 0.56, rng), 0.6, rng)
    return np.concatenate([body, np.zeros(int(rng.integers(15, 31)), dtype=np.uint8)])


# --- grammar --------------------------------------------------------------------------


def template_motifs(name: str, rng: np.random.Generator) -> list[tuple[str, int]]:
    """Motif chain of a template: ``[(tf, gap before it), ...]`` (first gap is 0)."""

    def gap(rule: str) -> int:
        lo, hi = SPACING[rule]
        return int(rng.integers(lo, hi + 1))

    def pair(a: str, b: str, rule: str) -> list[tuple[str, int]]:
        first, second = (a, b) if rng.random() < 0.5 else (b, a)
        return [(first, 0), (second, gap(rule))]

    def homotypic(tf: str, lo: int, hi: int) -> list[tuple[str, int]]:
        n = int(rng.integers(lo, hi + 1))
        return [(tf, 0)] + [(tf, gap("homotypic")) for _ in range(n - 1)]

    if name == "housekeeping_promoter":
        return [("YY1", 0)] + [("YY1", gap("promoter"))] * int(rng.integers(0, 2))
    if name == "neural_promoter":
        order = rng.permutation(["YY1", "NEUROD1", "REST"]).tolist()
        return [(order[0], 0)] + [(tf, gap("promoter")) for tf in order[1:]]
    if name in ("liver_promoter", "erythroid_promoter", "myeloid_promoter"):
        lineage = {"liver": "HNF4A", "erythroid": "GATA1", "myeloid": "SPI1"}[name.split("_")[0]]
        return pair("YY1", lineage, "promoter")
    if name == "liver_pair":
        chain = pair("FOXA1", "HNF4A", "FOXA1-HNF4A")
        if rng.random() < 0.7:  # cooperative CEBPB next to the pair
            if rng.random() < 0.5:
                chain = [("CEBPB", 0), (chain[0][0], gap("CEBPB-partner")), chain[1]]
            else:
                chain = chain + [("CEBPB", gap("CEBPB-partner"))]
        return chain
    if name == "liver_homotypic":
        return homotypic(str(rng.choice(["FOXA1", "HNF4A"])), 2, 3)
    if name == "liver_distal_cebpb":
        return pair(str(rng.choice(["FOXA1", "HNF4A"])), "CEBPB", "CEBPB-distal")
    if name == "erythroid_enhancer":
        return homotypic("GATA1", 2, 3)
    if name == "myeloid_composite":
        return pair("SPI1", "CEBPB", "SPI1-CEBPB")
    if name == "myeloid_homotypic":
        return homotypic("SPI1", 2, 2)
    if name == "neural_enhancer":
        return homotypic("NEUROD1", 2, 3)
    if name == "bipotent_enhancer":  # primed in both lineages, active in neither
        return pair("GATA1", "SPI1", "homotypic")
    if name == "insulator":
        return homotypic("CTCF", 1, 1 if rng.random() < 0.7 else 2)
    raise ValueError(f"unknown grammar template {name!r}")


def edge_gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Edge-to-edge distance of two intervals (negative when they overlap)."""
    return max(a[0], b[0]) - min(a[1], b[1])


def evaluate_element(
    kind: str,
    cgi: bool,
    sites: Sequence[tuple[str, int, int]],
    cell_types: Sequence[str],
) -> tuple[tuple[str, ...], list[tuple[str, ...]], tuple[str, ...]]:
    """Apply the grammar to one element's motif sites ``[(tf, start, end), ...]``.

    Returns ``(open_in, bound_in per site, active_in)``, each a tuple of cell types in
    ``cell_types`` order. Pure, so later stages can re-evaluate elements whose sites were
    disrupted or created by variants.
    """
    tfs = {tf for tf, _, _ in sites}
    if kind == "insulator" or cgi:
        open_in = tuple(cell_types)
    else:
        open_in = tuple(c for c in cell_types if tfs & set(OPENERS.get(c, ())))

    def binds(i: int, cell: str) -> bool:
        tf, start, end = sites[i]
        if cell not in open_in or cell not in EXPRESSION.get(tf, ()):
            return False
        partners = COOPERATIVE.get((tf, cell))
        if partners is None:
            return True
        return any(
            ptf in partners and j != i and edge_gap((start, end), (ps, pe)) <= PARTNER_MAX_GAP
            for j, (ptf, ps, pe) in enumerate(sites)
        )

    bound = [tuple(c for c in cell_types if binds(i, c)) for i in range(len(sites))]

    def active(cell: str) -> bool:
        if cell not in open_in or kind == "insulator":
            return False
        bound_tfs = [sites[i][0] for i in range(len(sites)) if cell in bound[i]]
        if kind == "promoter":
            if REPRESSOR in bound_tfs:
                return False
            lineage = tfs & LINEAGE_TFS
            return not lineage or bool(lineage & set(bound_tfs))
        return len(bound_tfs) >= 2  # enhancers need cooperative input; one TF only primes

    return open_in, bound, tuple(c for c in cell_types if active(c))


def feature_table(cell_types: Sequence[str], tfs: Sequence[str]) -> list[Feature]:
    """Features in DeepSEA order: DNase, then TFs, then histone marks, by cell type."""
    feats = [Feature(f"{c}|DNase|None", c, "DNase", "DNase") for c in cell_types]
    feats += [
        Feature(f"{c}|{tf}|None", c, tf, "TF")
        for c in cell_types
        for tf in tfs
        if c in EXPRESSION[tf]
    ]
    feats += [Feature(f"{c}|{m}|None", c, m, "Histone") for c in cell_types for m in HISTONE_MARKS]
    return feats


# --- layout ---------------------------------------------------------------------------


def _is_free(mask: np.ndarray, start: int, end: int, margin: int) -> bool:
    return not mask[max(0, start - margin) : end + margin].any()


def _place(
    rng: np.random.Generator,
    length: int,
    chrom_length: int,
    checks: Sequence[tuple[np.ndarray, int]],
    tries: int = 200,
) -> int | None:
    """Random start where ``length`` bp keep each (mask, margin) clear; None if none found."""
    for _ in range(tries):
        start = int(rng.integers(0, chrom_length - length))
        if all(_is_free(mask, start, start + length, margin) for mask, margin in checks):
            return start
    return None


def _n_gaps(cfg: SimConfig, rng: np.random.Generator) -> list[tuple[int, int]]:
    length = cfg.chrom_length
    lo = int(length * 0.4)
    hi = max(lo + 1, int(length * 0.6) - cfg.internal_gap)
    internal = int(rng.integers(lo, hi))
    return [
        (0, cfg.telomere_gap),
        (internal, internal + cfg.internal_gap),
        (length - cfg.telomere_gap, length),
    ]


def _count(per_mb: float, usable_bp: int) -> int:
    return int(round(per_mb * usable_bp / 1e6))


def _simulate_chromosome(
    name: str,
    cfg: SimConfig,
    pfms: Mapping[str, np.ndarray],
    motif_ids: Mapping[str, str],
    family: np.ndarray,
    seed_seq: np.random.SeedSequence,
) -> _Chromosome:
    # Separate streams per stage so changing one stage's draws leaves the others alone.
    rng_bg, rng_layout, rng_sites, rng_repeats = (
        np.random.default_rng(s) for s in seed_seq.spawn(4)
    )
    length = cfg.chrom_length
    codes = background_sequence(
        length, cfg.gc_content, cfg.cpg_retention, rng_bg, cfg.gc_sd, cfg.gc_block
    )
    gaps = _n_gaps(cfg, rng_layout)
    nmask = np.zeros(length, dtype=bool)
    for s, e in gaps:
        codes[s:e] = N_CODE
        nmask[s:e] = True
    usable = int((~nmask).sum())
    pwms = {tf: pwm_log_odds(p) for tf, p in pfms.items()}
    occupied = np.zeros(length, dtype=bool)

    # Elements: template, motif chain, extent, then a free spot.
    plan: list[tuple[int, int, Template, list[tuple[str, int]], int]] = []
    for kind, per_mb in (
        ("promoter", cfg.promoters_per_mb),
        ("insulator", cfg.insulators_per_mb),
        ("enhancer", cfg.enhancers_per_mb),
    ):
        templates = [t for t in TEMPLATES if t.kind == kind]
        weights = np.array([t.weight for t in templates])
        for _ in range(_count(per_mb, usable)):
            tmpl = templates[int(rng_layout.choice(len(templates), p=weights / weights.sum()))]
            chain = template_motifs(tmpl.name, rng_layout)
            core_len = sum(len(pfms[tf]) + g for tf, g in chain)
            lo, hi = ELEMENT_LENGTH[kind]
            el_len = max(int(rng_layout.integers(lo, hi + 1)), core_len + 100)
            start = _place(
                rng_layout, el_len, length, [(nmask, N_MARGIN), (occupied, ELEMENT_SEPARATION)]
            )
            if start is None:
                continue
            slack = (el_len - core_len) // 2
            jitter = min(50, slack - 40)
            core_start = start + slack + int(rng_layout.integers(-jitter, jitter + 1))
            occupied[start : start + el_len] = True
            plan.append((start, el_len, tmpl, chain, core_start))
    elements_mask = occupied.copy()

    elements: list[Element] = []
    for k, (start, el_len, tmpl, chain, core_start) in enumerate(sorted(plan, key=lambda p: p[0])):
        el = Element(
            element_id=f"{name}.e{k + 1:04d}",
            chrom=name,
            start=start,
            end=start + el_len,
            kind=tmpl.kind,
            grammar=tmpl.name,
            cgi=tmpl.cgi,
            core_start=core_start,
            core_end=core_start,
        )
        if tmpl.cgi:
            codes[el.start : el.end] = deaminate_cpg(
                random_bases(
                    el_len, _pre_deamination_gc(cfg.cgi_gc, cfg.cgi_cpg_retention), rng_sites
                ),
                cfg.cgi_cpg_retention,
                rng_sites,
            )
        pos = core_start
        for tf, gap in chain:
            pos += gap
            el.instances.append(
                _plant(codes, pos, tf, el.element_id, name, pfms, pwms, motif_ids, cfg, rng_sites)
            )
            pos += len(pfms[tf])
        el.core_end = pos
        sites = [(i.tf, i.start, i.end) for i in el.instances]
        el.open_in, bound, el.active_in = evaluate_element(el.kind, el.cgi, sites, cfg.cell_types)
        for inst, cells in zip(el.instances, bound, strict=True):
            inst.bound_in = cells
        elements.append(el)

    # Decoys: one motif in closed background, far from any element.
    tfs = list(pfms)
    decoys: list[Instance] = []
    for _ in range(_count(cfg.decoys_per_mb, usable)):
        tf = tfs[int(rng_layout.integers(len(tfs)))]
        start = _place(
            rng_layout,
            len(pfms[tf]),
            length,
            [(nmask, 100), (elements_mask, DECOY_MARGIN), (occupied, 50)],
        )
        if start is None:
            continue
        occupied[start : start + len(pfms[tf])] = True
        decoys.append(
            _plant(codes, start, tf, "decoy", name, pfms, pwms, motif_ids, cfg, rng_sites)
        )
    decoys.sort(key=lambda d: d.start)

    repeats = _plant_repeats(codes, occupied, nmask, family, cfg, usable, rng_repeats)
    return _Chromosome(name, codes, gaps, elements, decoys, repeats)


def _plant(
    codes: np.ndarray,
    start: int,
    tf: str,
    element_id: str,
    chrom: str,
    pfms: Mapping[str, np.ndarray],
    pwms: Mapping[str, np.ndarray],
    motif_ids: Mapping[str, str],
    cfg: SimConfig,
    rng: np.random.Generator,
) -> Instance:
    site = sample_motif_site(pfms[tf], rng, cfg.motif_sharpness)
    strand = "+" if rng.random() < 0.5 else "-"
    end = start + len(site)
    codes[start:end] = site if strand == "+" else reverse_complement(site)
    return Instance(
        chrom=chrom,
        start=start,
        end=end,
        strand=strand,
        tf=tf,
        motif_id=motif_ids[tf],
        element_id=element_id,
        sequence=decode_sequence(site),
        score=round(score_site(pwms[tf], site), 3),
    )


def _plant_repeats(
    codes: np.ndarray,
    occupied: np.ndarray,
    nmask: np.ndarray,
    family: np.ndarray,
    cfg: SimConfig,
    usable: int,
    rng: np.random.Generator,
) -> dict[str, int]:
    """Write repeats into free background; returns how many of each kind were placed."""
    length = len(codes)
    counts = {"tandem": 0, "polyA": 0, "interspersed": 0}

    def put(seq: np.ndarray, kind: str) -> None:
        start = _place(rng, len(seq), length, [(nmask, 0), (occupied, REPEAT_MARGIN)], tries=50)
        if start is None:
            return
        codes[start : start + len(seq)] = seq if rng.random() < 0.5 else reverse_complement(seq)
        occupied[start : start + len(seq)] = True
        counts[kind] += 1

    for _ in range(_count(cfg.tandem_repeats_per_mb, usable)):
        unit = encode_sequence(TANDEM_UNITS[int(rng.integers(len(TANDEM_UNITS)))])
        n = int(rng.integers(20, 121))
        seq = np.resize(unit, n)
        slips = rng.random(n) < 0.03  # a few point mutations, as in real microsatellites
        seq[slips] = rng.integers(0, 4, int(slips.sum()))
        put(seq.astype(np.uint8), "tandem")
    for _ in range(_count(cfg.polya_per_mb, usable)):
        put(np.zeros(int(rng.integers(10, 41)), dtype=np.uint8), "polyA")
    for _ in range(_count(cfg.interspersed_per_mb, usable)):
        keep = int(rng.integers(min(100, len(family)), len(family) + 1))  # 5' truncation
        seq = family[len(family) - keep :].copy()
        mutated = rng.random(keep) < cfg.interspersed_divergence
        seq[mutated] = (seq[mutated] + rng.integers(1, 4, int(mutated.sum()))) % 4
        put(deaminate_cpg(seq, 0.5, rng), "interspersed")
    return counts


# --- peaks ----------------------------------------------------------------------------


def _interval(center: float, width: int, must_cover: tuple[int, int], pad: int) -> tuple[int, int]:
    start = min(int(round(center - width / 2)), must_cover[0] - pad)
    end = max(int(round(center + width / 2)), must_cover[1] + pad)
    return start, end


def _chromosome_peaks(
    chrom: _Chromosome,
    cell_types: Sequence[str],
    pwm_range: Mapping[str, tuple[float, float]],
    rng: np.random.Generator,
) -> dict[str, list[tuple[int, int, int]]]:
    """Feature name -> unmerged peaks (start, end, score) on one chromosome."""
    peaks: dict[str, list[tuple[int, int, int]]] = {}

    def add(cell: str, assay: str, iv: tuple[int, int], score: int = 1000) -> None:
        peaks.setdefault(f"{cell}|{assay}|None", []).append((iv[0], iv[1], score))

    for el in chrom.elements:
        center = (el.start + el.end) / 2
        core_center = (el.core_start + el.core_end) / 2
        for cell in cell_types:
            if cell in el.open_in:
                width = int(rng.integers(150, 401))
                add(cell, "DNase", _interval(core_center, width, (el.core_start, el.core_end), 10))
            if cell in el.active_in:
                width = int(rng.integers(1000, 2001))
                add(
                    cell,
                    "H3K27ac",
                    _interval(center + rng.integers(-200, 201), width, (el.start, el.end), 0),
                )
                if el.kind == "promoter":
                    width = int(rng.integers(1000, 2501))
                    add(
                        cell,
                        "H3K4me3",
                        _interval(
                            center + rng.integers(-300, 301),
                            width,
                            (el.core_start, el.core_end),
                            100,
                        ),
                    )
            if el.kind == "enhancer" and cell in el.open_in:
                width = int(rng.integers(1500, 3001))
                add(
                    cell,
                    "H3K4me1",
                    _interval(center + rng.integers(-200, 201), width, (el.start, el.end), 0),
                )
        for inst in el.instances:
            lo, hi = pwm_range[inst.tf]
            score = int(round(1000 * np.clip((inst.score - lo) / (hi - lo), 0.0, 1.0)))
            mid = (inst.start + inst.end) / 2
            for cell in inst.bound_in:
                width = int(rng.integers(100, 301))
                iv = _interval(mid + rng.integers(-20, 21), width, (inst.start, inst.end), 10)
                add(cell, inst.tf, iv, score)
    return peaks


def merge_intervals(ivs: Sequence[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Sort and merge overlapping or touching intervals; a merged interval keeps the max score."""
    out: list[tuple[int, int, int]] = []
    for start, end, score in sorted(ivs):
        if out and start <= out[-1][1]:
            ps, pe, pscore = out[-1]
            out[-1] = (ps, max(pe, end), max(pscore, score))
        else:
            out.append((start, end, score))
    return out


# --- output ---------------------------------------------------------------------------


def _write_fasta(chroms: Sequence[_Chromosome], fasta: Path) -> list[tuple[str, int, int]]:
    """Write the FASTA (60-column lines); returns (name, length, byte offset) per record."""
    index: list[tuple[str, int, int]] = []
    offset = 0
    with atomic_path(fasta) as tmp, open(tmp, "wb") as handle:
        for chrom in chroms:
            header = f">{chrom.name}\n".encode()
            seq = decode_sequence(chrom.codes).encode("ascii")
            body = b"\n".join(seq[i : i + FASTA_LINE] for i in range(0, len(seq), FASTA_LINE))
            handle.write(header + body + b"\n")
            index.append((chrom.name, len(seq), offset + len(header)))
            offset += len(header) + len(body) + 1
    return index


def _write_fai(index: Sequence[tuple[str, int, int]], fai: Path) -> None:
    """samtools faidx index: name, length, offset, bases per line, bytes per line."""
    with atomic_path(fai) as tmp, open(tmp, "w") as handle:
        for name, length, offset in index:
            handle.write(f"{name}\t{length}\t{offset}\t{FASTA_LINE}\t{FASTA_LINE + 1}\n")


def _write_tsv(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, lineterminator="\n")


def _write_json(obj: object, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as handle:
        json.dump(obj, handle, indent=2)
        handle.write("\n")


INSTANCE_COLUMNS = (
    "instance_id",
    "chrom",
    "start",
    "end",
    "strand",
    "tf",
    "motif_id",
    "element_id",
    "sequence",
    "bound_in",
    "score",
)
ELEMENT_COLUMNS = (
    "element_id",
    "chrom",
    "start",
    "end",
    "kind",
    "open_in",
    "active_promoter",
    "grammar",
    "cgi",
    "active_in",
    "n_motifs",
)


def _instances_frame(chroms: Sequence[_Chromosome]) -> pd.DataFrame:
    rows = []
    for chrom in chroms:
        insts = [i for el in chrom.elements for i in el.instances] + chrom.decoys
        for k, inst in enumerate(sorted(insts, key=lambda i: (i.start, i.end))):
            rows.append(
                (
                    f"{chrom.name}.m{k + 1:05d}",
                    inst.chrom,
                    inst.start,
                    inst.end,
                    inst.strand,
                    inst.tf,
                    inst.motif_id,
                    inst.element_id,
                    inst.sequence,
                    ",".join(inst.bound_in),
                    inst.score,
                )
            )
    return pd.DataFrame(rows, columns=list(INSTANCE_COLUMNS))


def _elements_frame(chroms: Sequence[_Chromosome]) -> pd.DataFrame:
    rows = [
        (
            el.element_id,
            el.chrom,
            el.start,
            el.end,
            el.kind,
            ",".join(el.open_in),
            int(el.kind == "promoter" and bool(el.active_in)),
            el.grammar,
            int(el.cgi),
            ",".join(el.active_in),
            len(el.instances),
        )
        for chrom in chroms
        for el in chrom.elements
    ]
    return pd.DataFrame(rows, columns=list(ELEMENT_COLUMNS))


def read_motif_instances(path: str | Path) -> pd.DataFrame:
    """Read ``motif_instances.tsv``; ``bound_in`` stays a string ("" when unbound)."""
    return pd.read_csv(
        path,
        sep="\t",
        keep_default_na=False,
        dtype={
            "chrom": str,
            "strand": str,
            "tf": str,
            "motif_id": str,
            "element_id": str,
            "sequence": str,
            "bound_in": str,
            "start": np.int64,
            "end": np.int64,
        },
    )


def read_elements(path: str | Path) -> pd.DataFrame:
    """Read ``elements.tsv``; ``open_in``/``active_in`` stay strings ("" when none)."""
    return pd.read_csv(
        path,
        sep="\t",
        keep_default_na=False,
        dtype={
            "element_id": str,
            "chrom": str,
            "kind": str,
            "open_in": str,
            "grammar": str,
            "active_in": str,
            "start": np.int64,
            "end": np.int64,
        },
    )


def _bin_shares(
    chroms: Sequence[_Chromosome], merged: Mapping[str, Mapping[str, list]]
) -> tuple[float, float]:
    """Share of N-free BIN_SIZE bins touching any peak, and at least half covered by one."""
    touched = half = total = 0
    for chrom in chroms:
        n_bins = len(chrom.codes) // BIN_SIZE
        cover = np.zeros(len(chrom.codes), dtype=bool)
        best = np.zeros(n_bins, dtype=np.int64)
        for per_chrom in merged.values():
            feat_cover = np.zeros(len(chrom.codes), dtype=bool)
            for start, end, _ in per_chrom.get(chrom.name, []):
                feat_cover[start:end] = True
            cover |= feat_cover
            best = np.maximum(best, feat_cover[: n_bins * BIN_SIZE].reshape(n_bins, -1).sum(1))
        has_n = (chrom.codes[: n_bins * BIN_SIZE] == N_CODE).reshape(n_bins, -1).any(1)
        any_peak = cover[: n_bins * BIN_SIZE].reshape(n_bins, -1).any(1)
        total += int((~has_n).sum())
        touched += int((any_peak & ~has_n).sum())
        half += int(((best * 2 >= BIN_SIZE) & ~has_n).sum())
    return touched / total, half / total


def _check_peaks(chrom: _Chromosome, feature: str, ivs: Sequence[tuple[int, int, int]]) -> None:
    """Guard the layout invariant: peaks lie inside the chromosome and off N gaps."""
    n_before = np.concatenate([[0], np.cumsum(chrom.codes == N_CODE)])
    for start, end, _ in ivs:
        if start < 0 or end > len(chrom.codes) or n_before[end] != n_before[start]:
            raise RuntimeError(f"{feature}: peak {chrom.name}:{start}-{end} leaves the sequence")


def simulate_genome(config: SimConfig, out_dir: str | Path) -> dict:
    """Simulate the genome, peaks and truth tables into ``out_dir``; return summary stats.

    Files (each written atomically):

    * ``genome.fa``: uppercase, 60-column lines; ``genome.fa.fai``: samtools faidx index.
    * ``features.tsv``: see :mod:`amber.data.features`; ``peaks/<bed_stem(name)>.bed``: one
      BED6 per feature (chrom, start, end, name, score 0-1000, ``.``), 0-based half-open,
      sorted in genome order, merged. TF peak scores are the relative PWM score of the site.
    * ``motif_instances.tsv``: :data:`INSTANCE_COLUMNS`; ``sequence`` is the site in motif
      orientation (reverse complement of the genome for strand ``-``), ``bound_in`` a comma
      list of cell types (empty for decoys and unbound sites), ``score`` the log2-odds PWM
      score (:func:`pwm_log_odds`).
    * ``elements.tsv``: :data:`ELEMENT_COLUMNS`; ``open_in``/``active_in`` comma lists.
    * ``motifs.json``: ``{tf: {"motif_id", "pfm": [[A, C, G, T], ...]}}`` (rows sum to 1).
    * ``simulation.json``: the config, JASPAR release, motif IDs, grammar and the stats.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    motif_ids = parse_motif_specs(config.motifs)
    tfs = [tf for tf in EXPRESSION if tf in motif_ids]  # grammar order, independent of input
    motif_ids = {tf: motif_ids[tf] for tf in tfs}
    pfms = load_motifs(config.jaspar_release, motif_ids)
    pwm_range = {}
    for tf, pfm in pfms.items():
        pwm = pwm_log_odds(pfm)
        pwm_range[tf] = (float(pwm.min(axis=1).sum()), float(pwm.max(axis=1).sum()))

    # Independent seed streams: the repeat family, then one per chromosome (by index), so a
    # chromosome's sequence does not depend on how many chromosomes are simulated.
    family = interspersed_consensus(
        np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(0,)))
    )
    chroms: list[_Chromosome] = []
    merged: dict[str, dict[str, list[tuple[int, int, int]]]] = {}
    features = feature_table(config.cell_types, tfs)
    for f in features:
        merged[f.name] = {}
    for k in tqdm(range(config.n_chroms), desc="simulating chromosomes", disable=None):
        seed_seq = np.random.SeedSequence(config.seed, spawn_key=(1, k))
        name = f"{config.chrom_prefix}{k + 1}"
        chrom = _simulate_chromosome(name, config, pfms, motif_ids, family, seed_seq)
        peak_rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(2, k)))
        for feat, ivs in _chromosome_peaks(chrom, config.cell_types, pwm_range, peak_rng).items():
            merged[feat][name] = merge_intervals(ivs)
            _check_peaks(chrom, feat, merged[feat][name])
        chroms.append(chrom)

    index = _write_fasta(chroms, out_dir / "genome.fa")
    _write_fai(index, out_dir / "genome.fa.fai")  # after the FASTA so it is newer
    write_features(features, out_dir / "features.tsv")
    for f in features:
        stem = bed_stem(f.name)
        with atomic_path(out_dir / "peaks" / f"{stem}.bed") as tmp, open(tmp, "w") as handle:
            for chrom in chroms:
                for k, (start, end, score) in enumerate(merged[f.name].get(chrom.name, [])):
                    handle.write(
                        f"{chrom.name}\t{start}\t{end}\t{stem}.{chrom.name}.{k + 1}\t{score}\t.\n"
                    )
    instances = _instances_frame(chroms)
    elements = _elements_frame(chroms)
    _write_tsv(instances, out_dir / "motif_instances.tsv")
    _write_tsv(elements, out_dir / "elements.tsv")
    _write_json(
        {tf: {"motif_id": motif_ids[tf], "pfm": pfms[tf].tolist()} for tf in tfs},
        out_dir / "motifs.json",
    )

    stats = _summary(config, chroms, features, merged, instances)
    _write_json(
        {
            "config": dataclasses.asdict(config),
            "jaspar_release": config.jaspar_release,
            "motifs": motif_ids,
            "grammar": {
                "expression": {tf: list(EXPRESSION[tf]) for tf in tfs},
                "openers": {c: list(OPENERS[c]) for c in config.cell_types},
                "cooperative": {f"{tf}|{c}": list(p) for (tf, c), p in COOPERATIVE.items()},
                "partner_max_gap": PARTNER_MAX_GAP,
                "spacing": {k: list(v) for k, v in SPACING.items()},
            },
            "stats": stats,
        },
        out_dir / "simulation.json",
    )
    return stats


def _summary(
    config: SimConfig,
    chroms: Sequence[_Chromosome],
    features: Sequence[Feature],
    merged: Mapping[str, Mapping[str, list]],
    instances: pd.DataFrame,
) -> dict:
    all_codes = np.concatenate([c.codes for c in chroms])
    gc, cpg = gc_and_cpg(all_codes)
    background = []
    for chrom in chroms:
        keep = np.ones(len(chrom.codes), dtype=bool)
        for el in chrom.elements:
            keep[el.start : el.end] = False
        background.append(chrom.codes[keep])
    bg_gc, bg_cpg = gc_and_cpg(np.concatenate(background))
    any_share, half_share = _bin_shares(chroms, merged)
    kinds: dict[str, int] = {}
    for chrom in chroms:
        for el in chrom.elements:
            kinds[el.kind] = kinds.get(el.kind, 0) + 1
    repeats = {k: sum(c.repeats[k] for c in chroms) for k in chroms[0].repeats}
    peaks_by_cat: dict[str, int] = {}
    for f in features:
        n = sum(len(v) for v in merged[f.name].values())
        peaks_by_cat[f.category] = peaks_by_cat.get(f.category, 0) + n
    return {
        "genome_bp": int(len(all_codes)),
        "n_chroms": len(chroms),
        "n_bp": int((all_codes == N_CODE).sum()),
        "gc_fraction": round(gc, 4),
        "cpg_obs_exp": round(cpg, 4),
        "background_gc_fraction": round(bg_gc, 4),
        "background_cpg_obs_exp": round(bg_cpg, 4),
        "n_elements": sum(kinds.values()),
        "elements_by_kind": dict(sorted(kinds.items())),
        "n_motif_instances": int(len(instances)),
        "n_bound_instances": int((instances["bound_in"] != "").sum()),
        "n_decoys": int((instances["element_id"] == "decoy").sum()),
        "repeats": repeats,
        "n_features": len(features),
        "n_tfs": len({f.assay for f in features if f.category == "TF"}),
        "n_cell_types": len(config.cell_types),
        "peaks_by_category": peaks_by_cat,
        "bin_size": BIN_SIZE,
        "frac_bins_any_peak": round(any_share, 4),
        "frac_bins_half_in_peak": round(half_share, 4),
        "features_without_peaks": [f.name for f in features if not any(merged[f.name].values())],
    }
