"""Motifs from attributions (TF-MoDISco, modisco-lite) and from first-layer filters.

Both give :class:`Motif` objects: a PPM ``(length, 4)`` A,C,G,T trimmed to its informative
core, the contribution weight matrix (CWM) where there is one, and how many sites
(seqlets, or filter activations) built it. These are the queries that
:mod:`amber.interpret.matching` compares with JASPAR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MIN_IC = 0.3  # bits: motif ends below this are trimmed off


@dataclass(frozen=True)
class Motif:
    """A discovered motif: ``name`` (``pos_0``, ``neg_1``, ``filter_12``), trimmed PPM
    ``(length, 4)``, its CWM (same shape; zeros for filters) and its number of sites."""

    name: str
    ppm: np.ndarray
    cwm: np.ndarray
    n_sites: int
    source: str  # "modisco" or "filter"
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ModiscoParams:
    """The TF-MoDISco settings the stage exposes (modisco-lite's names; the rest are its
    defaults). Smaller windows and fewer Leiden runs than modisco-lite's defaults, which
    are sized for 1,000s of 1 kb ChIP-seq peaks, not a few hundred 500 bp bins."""

    sliding_window_size: int = 15
    flank_size: int = 5
    min_metacluster_size: int = 50
    max_seqlets_per_metacluster: int = 2000
    target_seqlet_fdr: float = 0.05
    n_leiden_runs: int = 4
    final_min_cluster_size: int = 20
    trim_threshold: float = 0.3


def run_modisco(one_hot: np.ndarray, hypothetical: np.ndarray, params: ModiscoParams):
    """modisco-lite's ``TFMoDISco`` on ``(N, 4, L)`` arrays: ``(pos_patterns,
    neg_patterns)`` (lists of its SeqletSets, or None when too few seqlets)."""
    from modiscolite.tfmodisco import TFMoDISco

    if one_hot.shape != hypothetical.shape or one_hot.ndim != 3 or one_hot.shape[1] != 4:
        raise ValueError(
            f"one-hot {one_hot.shape} and attributions {hypothetical.shape} must both be (N, 4, L)"
        )
    if len(one_hot) == 0:
        return None, None
    return TFMoDISco(
        np.ascontiguousarray(one_hot.transpose(0, 2, 1), dtype=np.float32),
        np.ascontiguousarray(hypothetical.transpose(0, 2, 1), dtype=np.float32),
        sliding_window_size=params.sliding_window_size,
        flank_size=params.flank_size,
        min_metacluster_size=params.min_metacluster_size,
        max_seqlets_per_metacluster=params.max_seqlets_per_metacluster,
        target_seqlet_fdr=params.target_seqlet_fdr,
        n_leiden_runs=params.n_leiden_runs,
        final_min_cluster_size=params.final_min_cluster_size,
    )


def trim_by_cwm(ppm: np.ndarray, cwm: np.ndarray, threshold: float) -> tuple[int, int]:
    """``[start, end)`` of the positions whose total |CWM| reaches ``threshold`` x its
    maximum (modisco-lite's report trims the same way)."""
    score = np.abs(cwm).sum(axis=1)
    if not len(score) or score.max() <= 0:
        return 0, 0
    keep = np.flatnonzero(score >= threshold * score.max())
    return int(keep[0]), int(keep[-1]) + 1


def modisco_motifs(pos_patterns, neg_patterns, trim_threshold: float = 0.3) -> list[Motif]:
    """Trimmed :class:`Motif` objects from modisco-lite's patterns (``pos_i``, ``neg_i``)."""
    motifs = []
    for sign, patterns in (("pos", pos_patterns), ("neg", neg_patterns)):
        for i, pattern in enumerate(patterns or []):
            ppm = np.asarray(pattern.sequence, dtype=float)
            cwm = np.asarray(pattern.contrib_scores, dtype=float)
            a, b = trim_by_cwm(ppm, cwm, trim_threshold)
            ppm, cwm = ppm[a:b], cwm[a:b]
            # Then to informative positions: a long, flat pattern otherwise matches long,
            # flat JASPAR matrices (zinc fingers) by its low-information columns alone.
            a, b = trim_by_ic(ppm, MIN_IC)
            if b - a < 2:  # no informative core left: nothing a database could match
                continue
            ppm = ppm[a:b] / np.clip(ppm[a:b].sum(axis=1, keepdims=True), 1e-12, None)
            motifs.append(Motif(f"{sign}_{i}", ppm, cwm[a:b], len(pattern.seqlets), "modisco"))
    return motifs


def first_conv(model: nn.Module) -> nn.Conv1d:
    """The first ``Conv1d`` reading the 4 one-hot channels (the stem of a NAS network,
    the first conv block of a baseline)."""
    for module in model.modules():
        if isinstance(module, nn.Conv1d) and module.in_channels == 4:
            return module
    raise ValueError(f"{type(model).__name__} has no Conv1d with 4 input channels")


def information_content(ppm: np.ndarray) -> np.ndarray:
    """Bits per position of a PPM ``(length, 4)`` against a uniform background."""
    p = np.clip(np.asarray(ppm, dtype=float), 1e-9, 1.0)
    return 2.0 + (p * np.log2(p)).sum(axis=1)


def trim_by_ic(ppm: np.ndarray, min_ic: float) -> tuple[int, int]:
    """``[start, end)`` between the first and last position with at least ``min_ic``
    bits (``(0, 0)`` when none has)."""
    keep = np.flatnonzero(information_content(ppm) >= min_ic)
    return (int(keep[0]), int(keep[-1]) + 1) if len(keep) else (0, 0)


@torch.no_grad()
def filter_motifs(
    model: nn.Module,
    x: torch.Tensor,
    *,
    activation_fraction: float = 0.5,
    min_sites: int = 10,
    min_ic: float = MIN_IC,
    batch_size: int = 256,
) -> list[Motif]:
    """First-layer filters as PPMs, the classic view (Kelley et al. 2016, Basset).

    For each filter of :func:`first_conv` the windows of ``x`` (float one-hot ``(N, 4, L)``)
    where its activation (the convolution, "valid", plus its bias) exceeds
    ``activation_fraction`` x the filter's largest activation are stacked and averaged
    into a PPM, trimmed to positions of >= ``min_ic`` bits. Filters with fewer than
    ``min_sites`` such windows are left out. A BatchNorm after the stem scales each
    channel; a negative scale would turn the filter's meaning around, so such filters
    are read with their weights negated.
    """
    conv = first_conv(model)
    weight = conv.weight.detach().float().cpu()
    sign = _batchnorm_signs(model, conv, weight.shape[0])
    weight = weight * sign[:, None, None]
    bias = None if conv.bias is None else conv.bias.detach().float().cpu() * sign
    k = weight.shape[-1]
    x = x.float().cpu()
    acts = (
        torch.cat(
            [F.conv1d(x[i : i + batch_size], weight, bias) for i in range(0, len(x), batch_size)]
        )
        if len(x)
        else torch.zeros(0, len(weight), 0)
    )
    motifs = []
    for f in range(weight.shape[0]):
        a = acts[:, f]
        top = float(a.max()) if a.numel() else 0.0
        if top <= 0:
            continue
        seq_idx, pos = torch.nonzero(a > activation_fraction * top, as_tuple=True)
        if len(seq_idx) < min_sites:
            continue
        windows = x[seq_idx[:, None], :, pos[:, None] + torch.arange(k)]  # (n, k, 4)
        ppm = windows.mean(dim=0).numpy()
        ppm = ppm / np.clip(ppm.sum(axis=1, keepdims=True), 1e-12, None)
        s, e = trim_by_ic(ppm, min_ic)
        if e - s < 2:
            continue
        motifs.append(
            Motif(f"filter_{f}", ppm[s:e], np.zeros((e - s, 4)), int(len(seq_idx)), "filter")
        )
    return motifs


def _batchnorm_signs(model: nn.Module, conv: nn.Conv1d, n: int) -> torch.Tensor:
    """+1/-1 per filter: the sign of the scale of the BatchNorm that follows ``conv`` in
    the same parent module (NAS stem), +1 where there is none (baselines)."""
    for parent in model.modules():
        children = dict(parent.named_children())
        if any(child is conv for child in children.values()):
            bn = children.get("bn")
            if isinstance(bn, nn.BatchNorm1d | nn.BatchNorm2d) and bn.weight is not None:
                w = bn.weight.detach().float().cpu()
                return torch.where(w < 0, -1.0, 1.0)
    return torch.ones(n)
