"""Model-free baseline: the change in a TF's best PWM match caused by a variant.

For a variant at position ``p`` the score is ``max(alt windows) - max(ref windows)``, over
every window of the motif's length that contains ``p``, on both strands (windows that do
not contain the variant are the same for both alleles, so they cannot change the best
match of the region around it). Scores are JASPAR log2-odds against a 41 % G+C background
(:func:`amber.data.motifs.pwm_log_odds`). Positive = the alt allele makes a better match
(expected gain of binding), negative = expected loss.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from amber.data.motifs import N_CODE, encode_sequence, load_motifs, pwm_log_odds

_CHUNK = 4096


def read_pfms(path: str | Path) -> dict[str, np.ndarray]:
    """PFMs from a ``motifs.json`` of the simulated genome: ``{TF: {"motif_id", "pfm"}}``
    (or ``{TF: pfm}``), pfm = rows of A, C, G, T probabilities."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path}: expected an object TF -> {{motif_id, pfm}}")
    out: dict[str, np.ndarray] = {}
    for tf, entry in data.items():
        pfm = entry.get("pfm") if isinstance(entry, dict) else entry
        arr = np.asarray(pfm, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != 4 or len(arr) == 0:
            raise ValueError(f"{path}: PFM of {tf} must be a list of [A, C, G, T] rows")
        out[tf] = arr / arr.sum(axis=1, keepdims=True)
    return out


def jaspar_pfms(ids: Mapping[str, str], release: str) -> dict[str, np.ndarray]:
    """PFMs by JASPAR matrix ID from the offline pyjaspar database (TF -> ID)."""
    return load_motifs(release, ids)


def motif_pwms(pfms: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Log2-odds PWMs keyed by upper-case TF name (TF names match case-insensitively)."""
    return {tf.upper(): pwm_log_odds(pfm) for tf, pfm in pfms.items()}


def best_match_pairs(
    pwm: np.ndarray, codes: np.ndarray, pos0: np.ndarray, ref: np.ndarray, alt: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Best match (both strands) over windows containing each variant, for both alleles.

    ``codes`` is a chromosome (codes 0-4), ``pos0`` 0-based positions, ``ref``/``alt`` base
    codes put at the variant. Windows running off the chromosome or over an N score
    ``-inf``; returns ``(ref_scores, alt_scores)``.
    """
    length = len(pwm)
    pos0 = np.asarray(pos0, dtype=np.int64)
    ref = np.asarray(ref, dtype=np.uint8)
    alt = np.asarray(alt, dtype=np.uint8)
    padded = np.concatenate(
        [
            np.full(length, N_CODE, np.uint8),
            np.asarray(codes, np.uint8),
            np.full(length, N_CODE, np.uint8),
        ]
    )
    plus = np.concatenate([pwm, np.full((length, 1), -np.inf)], axis=1)
    minus = np.concatenate([pwm[::-1, ::-1], np.full((length, 1), -np.inf)], axis=1)
    cols = np.arange(length)
    offsets = np.arange(2 * length - 1) - (length - 1)
    out_ref = np.empty(len(pos0))
    out_alt = np.empty(len(pos0))
    for lo in range(0, len(pos0), _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        region = padded[pos0[sl, None] + length + offsets]  # (n, 2L-1), variant in the middle
        for allele, out in ((ref[sl], out_ref), (alt[sl], out_alt)):
            region[:, length - 1] = allele
            win = np.lib.stride_tricks.sliding_window_view(region, length, axis=1)  # (n, L, L)
            best = np.maximum(plus[cols, win].sum(-1), minus[cols, win].sum(-1)).max(axis=1)
            out[sl] = best
    return out_ref, out_alt


def pwm_delta_scores(
    table: pd.DataFrame, pwms: Mapping[str, np.ndarray], genome: Mapping[str, np.ndarray]
) -> np.ndarray:
    """PWM baseline score (alt - ref best match) per table row; NaN where the TF has no
    motif, the chromosome is missing or every window contains an N."""
    scores = np.full(len(table), np.nan)
    tf_key = table["tf"].str.upper().to_numpy()
    chroms = table["chrom"].to_numpy()
    for (tf, chrom), idx in pd.Series(np.arange(len(table))).groupby([tf_key, chroms]):
        pwm = pwms.get(tf)
        codes = genome.get(chrom)
        if pwm is None or codes is None:
            continue
        rows = idx.to_numpy()
        pos0 = table["pos"].to_numpy()[rows] - 1
        inside = (pos0 >= 0) & (pos0 < len(codes))
        rows, pos0 = rows[inside], pos0[inside]
        ref = encode_sequence("".join(table["ref"].to_numpy()[rows]))
        alt = encode_sequence("".join(table["alt"].to_numpy()[rows]))
        s_ref, s_alt = best_match_pairs(pwm, codes, pos0, ref, alt)
        with np.errstate(invalid="ignore"):
            delta = s_alt - s_ref
        scores[rows] = np.where(np.isfinite(delta), delta, np.nan)
    return scores
