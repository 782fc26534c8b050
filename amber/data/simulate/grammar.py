"""The simulator's cell-type grammar: TFs, where they are expressed, what opens an element,
which TFs bind only next to a partner, and the templates that plant motif chains.

Pure data and pure functions (no sequences, no placement), so later stages can re-evaluate
an element's state with :func:`evaluate_element` after variants disrupt or create sites.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from amber.data.features import Feature

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
