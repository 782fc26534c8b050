"""Metrics on a hand-computed case and against scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from amber.metrics import aupr_per_feature, auroc_per_feature, mean_auroc


def test_hand_computed_auroc() -> None:
    # Column 0: positives score 0.9, 0.4; negatives 0.5, 0.1 -> pairs (pos > neg):
    # 0.9>0.5, 0.9>0.1, 0.4>0.1 win, 0.4<0.5 loses -> 3/4.
    # Column 1: positive 0.3 vs negatives 0.3 (tie, 1/2), 0.8 (loss), 0.1 (win) -> 1.5/3.
    # Column 2: no positives -> NaN.
    y = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 0], [0, 0, 0]])
    s = np.array([[0.9, 0.3, 0.1], [0.5, 0.3, 0.2], [0.4, 0.8, 0.3], [0.1, 0.1, 0.4]])
    auc = auroc_per_feature(y, s)
    assert auc[0] == pytest.approx(0.75)
    assert auc[1] == pytest.approx(0.5)
    assert np.isnan(auc[2])
    assert mean_auroc(y, s) == pytest.approx(0.625)


def test_hand_computed_aupr() -> None:
    # Ranking pos, neg, pos: precision at each positive = 1/1 and 2/3 -> AP = (1 + 2/3)/2.
    y = np.array([[1], [0], [1]])
    s = np.array([[0.9], [0.8], [0.7]])
    assert aupr_per_feature(y, s)[0] == pytest.approx((1 + 2 / 3) / 2)


def test_matches_sklearn_on_random_data() -> None:
    rng = np.random.default_rng(0)
    y = rng.random((300, 7)) < 0.2
    s = np.round(rng.random((300, 7)) + 0.3 * y, 2)  # rounding creates ties
    auc = auroc_per_feature(y, s)
    ap = aupr_per_feature(y, s)
    for j in range(7):
        assert auc[j] == pytest.approx(roc_auc_score(y[:, j], s[:, j]), abs=1e-12)
        assert ap[j] == pytest.approx(average_precision_score(y[:, j], s[:, j]), abs=1e-12)


def test_no_usable_feature_raises() -> None:
    with pytest.raises(ValueError, match="no feature"):
        mean_auroc(np.zeros((4, 2)), np.ones((4, 2)))
