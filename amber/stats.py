"""The statistics every stage reports with: Benjamini-Hochberg FDR, Welch's t-test and
the Wilcoxon rank-sum test."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def bh_fdr(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (statsmodels); NaN entries stay NaN and are not
    counted among the tests."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float).reshape(-1)
    out = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return out


def welch(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, str]:
    """(t, two-sided p, note) of Welch's unequal-variance t-test over the finite values;
    NaN and a note saying why where it is undefined."""
    from scipy import stats

    a = np.asarray([v for v in a if np.isfinite(v)], dtype=float)
    b = np.asarray([v for v in b if np.isfinite(v)], dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan, f"needs >= 2 models per group (have {len(a)} and {len(b)})"
    if np.var(a) == 0 and np.var(b) == 0:
        return math.nan, math.nan, "no variance within either group"
    result = stats.ttest_ind(a, b, equal_var=False)
    return float(result.statistic), float(result.pvalue), ""


def rank_sum(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Wilcoxon rank-sum (Mann-Whitney U) p-value over the finite values; NaN
    with fewer than 2 per group, 1 when every value is the same."""
    from scipy.stats import mannwhitneyu

    a = [v for v in a if np.isfinite(v)]
    b = [v for v in b if np.isfinite(v)]
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if len(set(a) | set(b)) == 1:
        return 1.0
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
