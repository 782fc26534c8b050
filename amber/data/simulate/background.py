"""Background sequence model of the simulated genome: regional ("isochore") G+C, CpG
deamination, CpG islands, and the consensus of one interspersed repeat family.

All functions work on base codes (``amber.data.motifs``: A=0, C=1, G=2, T=3, N=N_CODE).
"""

from __future__ import annotations

import math

import numpy as np

from amber.data.motifs import N_CODE

# Simple tandem repeat units; none contains CG so they keep the CpG depletion.
TANDEM_UNITS = ("CA", "TA", "GA", "TG", "AAT", "TTC", "AAAT", "GGAA", "TTTA", "CAGA", "AATGG")


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


def cpg_island(
    length: int, gc: float, cpg_retention: float, rng: np.random.Generator
) -> np.ndarray:
    """CpG-island sequence: G+C fraction ``gc`` after keeping a ``cpg_retention`` share of CpGs."""
    return deaminate_cpg(
        random_bases(length, _pre_deamination_gc(gc, cpg_retention), rng), cpg_retention, rng
    )


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
