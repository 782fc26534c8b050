"""Scoring interpretations against the simulated genome's planted motifs.

The simulator writes every planted motif instance to ``motif_instances.tsv`` (columns
``instance_id chrom start end strand tf motif_id element_id sequence bound_in score``,
0-based half-open coordinates). Two questions per planted TF:

- *recovered*: does a discovered motif match the TF's planted JASPAR matrix at TOMTOM
  q < ``q_threshold``? Recall = recovered TFs / planted TFs that the model was asked
  about (a TF feature with attributed sequences). Precision = discovered motifs matching
  some planted matrix at q < threshold / discovered motifs matching any JASPAR matrix at
  q < threshold.
- *attribution AUROC*: on the windows attributed for that TF's features, do the
  per-base attributions (magnitude of the actual contribution, summed over the 4 bases)
  rank the bases inside planted instances of that TF above the other bases? Per-base
  AUROC against that truth mask, over the windows holding at least one instance (0.5 =
  no concentration, 1 = all attribution on the motifs). The magnitude, because a base
  of a planted site that disagrees with the motif rightly gets a negative contribution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


def planted_motifs(instances: pd.DataFrame) -> dict[str, str]:
    """TF -> planted JASPAR matrix ID (one per TF)."""
    pairs = instances[["tf", "motif_id"]].drop_duplicates()
    doubled = pairs["tf"][pairs["tf"].duplicated()].tolist()
    if doubled:
        raise ValueError(f"TF(s) planted with more than one matrix: {doubled}")
    return dict(zip(pairs["tf"], pairs["motif_id"], strict=True))


def truth_mask(
    chrom: Sequence[str],
    start: np.ndarray,
    length: int,
    instances: pd.DataFrame,
    tf: str,
) -> np.ndarray:
    """``(N, length)`` bool: bases of window ``i`` (``chrom[i]``, from ``start[i]``) that
    lie in a planted instance of ``tf``."""
    mask = np.zeros((len(chrom), length), dtype=bool)
    sites = instances[instances["tf"] == tf]
    by_chrom = {c: g[["start", "end"]].to_numpy() for c, g in sites.groupby("chrom")}
    for i, (c, s) in enumerate(zip(chrom, np.asarray(start), strict=True)):
        spans = by_chrom.get(c)
        if spans is None:
            continue
        hit = spans[(spans[:, 1] > s) & (spans[:, 0] < s + length)]
        for a, b in hit:
            mask[i, max(a - s, 0) : min(b - s, length)] = True
    return mask


def attribution_auroc(scores: np.ndarray, mask: np.ndarray) -> float:
    """Per-base AUROC of ``|scores|`` ``(N, L)`` against ``mask`` ``(N, L)``, over the
    windows with at least one masked base; NaN when there are none."""
    from sklearn.metrics import roc_auc_score

    rows = mask.any(axis=1)
    if not rows.any() or mask[rows].all():
        return float("nan")
    return float(roc_auc_score(mask[rows].ravel(), np.abs(scores[rows]).ravel()))


def score_truth(
    planted: Mapping[str, str],
    asked: Sequence[str],
    motif_names: Sequence[str],
    q: np.ndarray,
    db_ids: Sequence[str],
    aurocs: Mapping[str, float],
    q_threshold: float = 0.05,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per planted TF: recovered or not, by which motif at which q-value, and its
    attribution AUROC; plus ``{"recall", "precision", "mean_auroc", ...}``.

    ``q`` is the TOMTOM q-value matrix (discovered motifs x database) whose columns are
    ``db_ids``; ``asked`` the planted TFs with attributed sequences (recall's
    denominator); ``aurocs`` TF -> attribution AUROC.
    """
    col = {mid: j for j, mid in enumerate(db_ids)}
    absent = sorted(mid for mid in planted.values() if mid not in col)
    if absent:
        raise ValueError(f"planted matrices {absent} are not in the TOMTOM database")
    rows = []
    for tf, mid in sorted(planted.items()):
        qs = q[:, col[mid]] if len(motif_names) else np.zeros(0)
        best = int(np.argmin(qs)) if len(qs) else -1
        best_q = float(qs[best]) if best >= 0 else 1.0
        rows.append(
            {
                "tf": tf,
                "motif_id": mid,
                "attributed": tf in asked,
                "recovered": bool(best_q < q_threshold and tf in asked),
                "best_motif": motif_names[best] if best >= 0 else "",
                "q_value": best_q,
                "attribution_auroc": aurocs.get(tf, float("nan")),
            }
        )
    table = pd.DataFrame(rows)
    asked_rows = table[table["attributed"]]
    planted_cols = [col[mid] for mid in planted.values()]
    significant = (q < q_threshold).any(axis=1) if len(motif_names) else np.zeros(0, bool)
    true_hits = (q[:, planted_cols] < q_threshold).any(axis=1) if len(motif_names) else []
    n_sig = int(np.sum(significant))
    summary = {
        "n_planted_asked": int(len(asked_rows)),
        "n_recovered": int(asked_rows["recovered"].sum()),
        "recall": float(asked_rows["recovered"].mean()) if len(asked_rows) else float("nan"),
        "n_motifs": len(motif_names),
        "n_motifs_matched": n_sig,
        "precision": float(np.sum(true_hits) / n_sig) if n_sig else float("nan"),
        "mean_auroc": float(np.nanmean(asked_rows["attribution_auroc"]))
        if len(asked_rows) and asked_rows["attribution_auroc"].notna().any()
        else float("nan"),
    }
    return table, summary
