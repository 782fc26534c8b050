"""Per-feature classification metrics, vectorised over features.

The search computes a reward (mean validation AUROC) for many architectures per step,
so AUROC here is the rank (Mann-Whitney) form over all features at once; it equals
scikit-learn's ``roc_auc_score`` per column (ties get average ranks).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score


def auroc_per_feature(y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
    """AUROC of each column; NaN where a column has no positives or no negatives."""
    y_true = np.asarray(y_true).astype(bool)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.shape != y_score.shape or y_true.ndim != 2:
        raise ValueError(f"expected two (N, F) arrays, got {y_true.shape} and {y_score.shape}")
    n_pos = y_true.sum(axis=0).astype(np.float64)
    n_neg = y_true.shape[0] - n_pos
    ranks = rankdata(y_score, axis=0)
    rank_sum = np.where(y_true, ranks, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    auc[(n_pos == 0) | (n_neg == 0)] = np.nan
    return auc


def aupr_per_feature(y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
    """Average precision (area under the precision-recall curve) of each column; NaN
    where a column has no positives."""
    y_true = np.asarray(y_true).astype(bool)
    y_score = np.asarray(y_score, dtype=np.float64)
    out = np.full(y_true.shape[1], np.nan)
    for j in range(y_true.shape[1]):
        if y_true[:, j].any():
            out[j] = average_precision_score(y_true[:, j], y_score[:, j])
    return out


def mean_auroc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean AUROC over features that have both classes (the search reward)."""
    auc = auroc_per_feature(y_true, y_score)
    if np.isnan(auc).all():
        raise ValueError("no feature has both positive and negative examples")
    return float(np.nanmean(auc))
