"""Model variant scores for ASB rows: TF -> model feature(s), and the join with scores.h5.

Variant scores come from the variants stage (``scores.h5``: ``logfc`` V x F = logit(P(alt))
- logit(P(ref)), keys ``chrom``/``pos`` (1-based)/``ref_allele``/``alt_allele``, root attr
``features``). They are read here with h5py and joined on (chrom, pos, ref, alt), so a
variant the scorer skipped simply gets no score (NaN).

Which feature(s) score a row (first rule that applies):

1. ``feature`` column names a model feature (exact, else ignoring case/spaces): that one;
2. the row's ``cell_type`` has features of the TF (``assay`` = TF, case-insensitive): the
   mean logfc over those (several only when a cell type has several treatments);
3. otherwise the mean logfc over every feature of the TF, across cell types;
4. no feature of that TF: unmapped (no model score; the row leaves the benchmark).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from amber.data.features import Feature

MAPPING_RULES = ("feature", "cell_type", "all_cell_types", "unmapped")


def _norm(text: str) -> str:
    return "".join(text.split()).upper()


def map_features(
    table: pd.DataFrame, features: Sequence[Feature]
) -> tuple[list[tuple[str, ...]], list[str]]:
    """Feature names scoring each row and the rule used (see the module docstring)."""
    by_norm = {_norm(f.name): f.name for f in features}
    by_tf: dict[str, list[Feature]] = {}
    for f in features:
        by_tf.setdefault(f.assay.upper(), []).append(f)
    names: list[tuple[str, ...]] = []
    rules: list[str] = []
    cells = table["cell_type"] if "cell_type" in table else pd.Series([""] * len(table))
    exact = table["feature"] if "feature" in table else pd.Series([""] * len(table))
    for tf, cell, feat in zip(table["tf"], cells, exact, strict=True):
        if feat and _norm(feat) in by_norm:
            names.append((by_norm[_norm(feat)],))
            rules.append("feature")
            continue
        candidates = by_tf.get(tf.upper(), [])
        same_cell = [f.name for f in candidates if cell and f.cell_type.upper() == cell.upper()]
        if same_cell:
            names.append(tuple(same_cell))
            rules.append("cell_type")
        elif candidates:
            names.append(tuple(f.name for f in candidates))
            rules.append("all_cell_types")
        else:
            names.append(())
            rules.append("unmapped")
    return names, rules


def _text(values: np.ndarray) -> np.ndarray:
    return np.array(
        [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel()],
        dtype=object,
    )


def read_variant_scores(path: str | Path) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """``(keys, logfc, feature names)`` of a scores.h5; keys = chrom, pos, ref, alt."""
    import h5py

    path = Path(path)
    with h5py.File(path, "r") as h5:
        missing = [k for k in ("logfc", "chrom", "pos", "ref_allele", "alt_allele") if k not in h5]
        if missing:
            raise ValueError(f"{path}: missing dataset(s) {', '.join(missing)} in scores.h5")
        logfc = np.asarray(h5["logfc"][...], dtype=np.float64)
        keys = pd.DataFrame(
            {
                "chrom": _text(h5["chrom"][...]),
                "pos": np.asarray(h5["pos"][...], dtype=np.int64).ravel(),
                "ref": [s.upper() for s in _text(h5["ref_allele"][...])],
                "alt": [s.upper() for s in _text(h5["alt_allele"][...])],
            }
        )
        feats = h5.attrs.get("features")
        names = [] if feats is None else list(_text(feats))
    if logfc.ndim != 2 or logfc.shape[0] != len(keys):
        raise ValueError(f"{path}: logfc has shape {logfc.shape}, expected ({len(keys)}, F)")
    if names and len(names) != logfc.shape[1]:
        raise ValueError(f"{path}: {len(names)} feature names for {logfc.shape[1]} columns")
    return keys, logfc, names


def model_row_scores(
    table: pd.DataFrame,
    row_features: Sequence[tuple[str, ...]],
    path: str | Path,
    feature_order: Sequence[str],
) -> np.ndarray:
    """Per-row score of one model: mean logfc over the row's features (NaN when the
    variant is not in the file or the row is unmapped). ``feature_order`` gives the column
    names when the file has no ``features`` attribute."""
    keys, logfc, names = read_variant_scores(path)
    names = names or list(feature_order)
    if len(names) != logfc.shape[1]:
        raise ValueError(
            f"{path}: {logfc.shape[1]} score columns but {len(names)} features in features.tsv"
        )
    col = {n: i for i, n in enumerate(names)}
    index = {}
    for i, key in enumerate(keys.itertuples(index=False, name=None)):
        index.setdefault(key, i)
    out = np.full(len(table), np.nan)
    rows = zip(table["chrom"], table["pos"], table["ref"], table["alt"], strict=True)
    for r, (key, feats) in enumerate(zip(rows, row_features, strict=True)):
        v = index.get((str(key[0]), int(key[1]), key[2], key[3]))
        cols = [col[f] for f in feats if f in col]
        if v is None or not cols:
            continue
        out[r] = float(np.mean(logfc[v, cols]))
    return out
