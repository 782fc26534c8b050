"""The variant-score file ``scores.h5`` of `amber score-variants`, and its reader.

One row per scored biallelic variant, in VCF order; one column per model output, in
``features.tsv`` order. Datasets:

- ``ref``, ``alt``: float32 (V, F), the model's P(feature) for the reference and the
  alternative window (Selene's ``.ref_predictions.h5`` / ``.alt_predictions.h5``)
- ``diff``: float32 (V, F), ``alt - ref`` (Selene's ``_diffs.h5``)
- ``logfc``: float32 (V, F), ``logit(alt) - logit(ref)`` with both probabilities clipped
  to ``[LOGFC_EPS, 1 - LOGFC_EPS]`` first (so saturated outputs give finite values,
  ``|logfc| <= 2 * logit(1 - 1e-6) ~= 27.6``); computed here from ``ref``/``alt`` because
  Selene's logit handler clips the saved predictions in place
- ``chrom`` (as written in the VCF), ``id``, ``ref_allele``, ``alt_allele``: bytes (V,)
- ``pos``: int64 (V,), 1-based as in the VCF; ``vcf_line``: int64 (V,), the record's line

Root attributes: ``features`` (names), ``model`` (model name), ``seq_len``,
``logfc_eps``, ``vcf``, ``fasta``, ``selene_version``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

LOGFC_EPS = 1e-6
FLOAT_FIELDS = ("ref", "alt", "diff", "logfc")
STRING_FIELDS = ("chrom", "id", "ref_allele", "alt_allele")
INT_FIELDS = ("pos", "vcf_line")
ROW_CHUNK = 1024


def logit_fold_change(ref: np.ndarray, alt: np.ndarray, eps: float = LOGFC_EPS) -> np.ndarray:
    """``logit(alt) - logit(ref)`` in float64, probabilities clipped to ``[eps, 1 - eps]``."""
    r = np.clip(np.asarray(ref, dtype=np.float64), eps, 1.0 - eps)
    a = np.clip(np.asarray(alt, dtype=np.float64), eps, 1.0 - eps)
    return (np.log(a) - np.log1p(-a)) - (np.log(r) - np.log1p(-r))


def _bytes(values: Iterable[str]) -> np.ndarray:
    encoded = [v.encode("utf-8") for v in values]
    return np.array(encoded, dtype=f"S{max((len(e) for e in encoded), default=1) or 1}")


def create_scores(
    handle: h5py.File,
    labels: Mapping[str, Sequence],
    features: Sequence[str],
    attrs: Mapping[str, object],
) -> None:
    """Write the label datasets and allocate the (V, F) float datasets of an open file.

    ``labels`` holds ``chrom``, ``pos``, ``id``, ``ref_allele``, ``alt_allele``,
    ``vcf_line`` (one value per variant); the float datasets are filled by the caller.
    """
    n = len(labels["pos"])
    for name in STRING_FIELDS:
        handle.create_dataset(name, data=_bytes(labels[name]))
    for name in INT_FIELDS:
        handle.create_dataset(name, data=np.asarray(labels[name], dtype=np.int64).reshape(n))
    chunks = (min(n, ROW_CHUNK), len(features)) if n and features else None
    for name in FLOAT_FIELDS:
        handle.create_dataset(name, shape=(n, len(features)), dtype=np.float32, chunks=chunks)
    handle.attrs["features"] = np.array(list(features), dtype=h5py.string_dtype())
    for key, value in attrs.items():
        handle.attrs[key] = value


def read_scores(path: str | Path, fields: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Read ``scores.h5``: every dataset (or just ``fields``) plus ``features`` and ``model``.

    String datasets come back decoded (numpy ``str`` arrays); ``features`` is a ``str``
    array of the column names, ``model`` a 0-d ``str`` array.
    """
    path = Path(path)
    with h5py.File(path, "r") as handle:
        names = list(handle.keys()) if fields is None else list(fields)
        missing = [n for n in names if n not in handle]
        if missing:
            raise KeyError(f"{path}: no dataset(s) {', '.join(missing)}; has {list(handle)}")
        out: dict[str, np.ndarray] = {}
        for name in names:
            data = handle[name][()]
            if name in STRING_FIELDS:
                data = np.char.decode(data, "utf-8") if data.size else data.astype(str)
            out[name] = data
        out["features"] = np.array(
            [f.decode() if isinstance(f, bytes) else str(f) for f in handle.attrs["features"]],
            dtype=str,
        )
        out["model"] = np.array(str(handle.attrs.get("model", "")))
    return out
