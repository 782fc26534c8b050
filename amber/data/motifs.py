"""Sequence codes and motif maths shared by the simulator, the ASB benchmark and the
benchmarks: A, C, G, T as codes 0-3 (4 for anything else), JASPAR PFMs read offline with
pyjaspar, log-odds PWMs and their scan over both strands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

BASES = "ACGT"
N_CODE = 4
_ASCII = np.frombuffer(b"ACGTN", dtype=np.uint8)
JASPAR_RELEASE = "JASPAR2024"


def encode_sequence(seq: str) -> np.ndarray:
    """Map a DNA string to codes 0-3 (A, C, G, T) and 4 (anything else, e.g. N)."""
    lut = np.full(256, N_CODE, dtype=np.uint8)
    for i, b in enumerate(BASES):
        lut[ord(b)] = lut[ord(b.lower())] = i
    return lut[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]


def decode_sequence(codes: np.ndarray) -> str:
    """Inverse of :func:`encode_sequence` (uppercase, N for code 4)."""
    return _ASCII[np.asarray(codes, dtype=np.uint8)].tobytes().decode("ascii")


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of a code array (N stays N)."""
    codes = np.asarray(codes, dtype=np.uint8)[::-1]
    return np.where(codes == N_CODE, N_CODE, 3 - codes).astype(np.uint8)


def parse_motif_specs(specs: Sequence[str]) -> dict[str, str]:
    """``("CTCF=MA0139.2", ...)`` -> ``{"CTCF": "MA0139.2", ...}``."""
    out: dict[str, str] = {}
    for spec in specs:
        tf, sep, motif_id = spec.partition("=")
        if not sep or not tf.strip() or not motif_id.strip():
            raise ValueError(f"motif spec {spec!r}: expected TF=JASPAR_ID, e.g. CTCF=MA0139.2")
        if tf.strip() in out:
            raise ValueError(f"motif spec {spec!r}: TF {tf.strip()} given twice")
        out[tf.strip()] = motif_id.strip()
    return out


def load_motifs(release: str, ids: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Read PFMs from the bundled pyjaspar database (offline).

    ``ids`` maps a TF name to a versioned JASPAR matrix ID. Returns TF -> float array of
    shape (length, 4), columns A, C, G, T, rows summing to 1. Raises ``ValueError`` when an
    ID is unknown or names a different TF (names compared case-insensitively).
    """
    import warnings

    from pyjaspar import jaspardb

    db = jaspardb(release=release)
    out: dict[str, np.ndarray] = {}
    for tf, motif_id in ids.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyjaspar warns and returns None for unknown IDs
            motif = db.fetch_motif_by_id(motif_id)
        if motif is None:
            raise ValueError(f"JASPAR ID {motif_id} (for {tf}) not found in {release}")
        if motif.name.upper() != tf.upper():
            raise ValueError(f"JASPAR ID {motif_id} in {release} is {motif.name}, not {tf}")
        counts = np.array([motif.counts[b] for b in BASES], dtype=float).T
        out[tf] = counts / counts.sum(axis=1, keepdims=True)
    return out


def background_probs(gc: float = 0.41) -> np.ndarray:
    """Base probabilities A, C, G, T for a G+C fraction."""
    return np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])


def pwm_log_odds(
    pfm: np.ndarray, background: np.ndarray | None = None, pseudocount: float = 0.01
) -> np.ndarray:
    """Log2-odds PWM (length, 4) of a PFM against a background (default 41 % GC)."""
    bg = background_probs() if background is None else np.asarray(background, dtype=float)
    probs = (np.asarray(pfm, dtype=float) + pseudocount) / (1.0 + 4 * pseudocount)
    return np.log2(probs / bg)


def score_site(pwm: np.ndarray, codes: np.ndarray) -> float:
    """PWM score of a site given in motif orientation (no Ns)."""
    return float(pwm[np.arange(len(pwm)), np.asarray(codes, dtype=np.intp)].sum())


def scan_pwm(pwm: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Scores of every window on both strands: array (n - length + 1, 2) [plus, minus].

    Windows containing N score ``-inf``.
    """
    length = len(pwm)
    codes = np.asarray(codes, dtype=np.intp)
    if len(codes) < length:
        return np.zeros((0, 2))
    ext = np.concatenate([pwm, np.full((length, 1), -np.inf)], axis=1)
    rc = np.concatenate([pwm[::-1, ::-1], np.full((length, 1), -np.inf)], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(codes, length)
    cols = np.arange(length)
    return np.stack([ext[cols, windows].sum(axis=1), rc[cols, windows].sum(axis=1)], axis=1)
