"""Layout of one simulated chromosome: N gaps, regulatory elements (motif chains from the
grammar templates), decoys and repeats placed on the background, then the peaks each
element and bound instance gives per feature.

Every chromosome draws from its own seed streams, one per stage, so changing one stage's
draws leaves the others alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from amber.data.motifs import (
    N_CODE,
    decode_sequence,
    encode_sequence,
    pwm_log_odds,
    reverse_complement,
    score_site,
)
from amber.data.simulate.background import (
    TANDEM_UNITS,
    background_sequence,
    cpg_island,
    deaminate_cpg,
)
from amber.data.simulate.config import N_MARGIN, SimConfig
from amber.data.simulate.grammar import TEMPLATES, Template, evaluate_element, template_motifs

# Element extent in bp (a CpG island for promoters), before fitting the motif core.
ELEMENT_LENGTH: Mapping[str, tuple[int, int]] = MappingProxyType(
    {"promoter": (600, 1200), "enhancer": (300, 600), "insulator": (200, 320)}
)
# Margins (bp) between elements, from decoys to elements and around repeats; N_MARGIN (from
# N gaps) sits in config because it also bounds the shortest valid chromosome.
ELEMENT_SEPARATION = 500
DECOY_MARGIN = 1000
REPEAT_MARGIN = 20


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
class Chromosome:
    """One simulated chromosome: base codes (N gaps included), elements, decoys, repeat counts."""

    name: str
    codes: np.ndarray
    gaps: list[tuple[int, int]]
    elements: list[Element]
    decoys: list[Instance]
    repeats: dict[str, int]


# --- motif sites ----------------------------------------------------------------------


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


# --- placement ------------------------------------------------------------------------


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


def simulate_chromosome(
    name: str,
    cfg: SimConfig,
    pfms: Mapping[str, np.ndarray],
    motif_ids: Mapping[str, str],
    family: np.ndarray,
    seed_seq: np.random.SeedSequence,
) -> Chromosome:
    """Background, N gaps, elements, decoys and repeats of one chromosome from its seed."""
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
            codes[el.start : el.end] = cpg_island(
                el_len, cfg.cgi_gc, cfg.cgi_cpg_retention, rng_sites
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
    return Chromosome(name, codes, gaps, elements, decoys, repeats)


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


def chromosome_peaks(
    chrom: Chromosome,
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
