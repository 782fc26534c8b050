"""Test-set evaluation and the searched-vs-sampled comparison, against hand-computed
values, scikit-learn and scipy."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from sklearn.metrics import average_precision_score, roc_auc_score

from amber.data.features import Feature
from amber.naming import model_group
from amber.nas.child import he_init_
from amber.train.evaluate import (
    compare_models,
    evaluate_predictions,
    summarise,
    ttests,
    write_tsv,
)
from amber.train.model_io import (
    baseline_description,
    build_model,
    load_model,
    plain_state_dict,
    save_model,
)

ROOT = Path(__file__).resolve().parents[1]
FEATURES = [
    Feature("a|CTCF|None", "a", "CTCF", "TF"),
    Feature("a|DNase|None", "a", "DNase", "DNase"),
    Feature("b|H3K27ac|None", "b", "H3K27ac", "Histone"),
]


def test_hand_computed_auroc_aupr() -> None:
    y = np.array([[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0]])
    s = np.array([[0.1, 0.5, 0.3], [0.4, 0.5, 0.2], [0.35, 0.2, 0.9], [0.8, 0.9, 0.1]])
    table = evaluate_predictions(y, s, FEATURES)
    assert list(table.columns) == ["feature", "category", "auroc", "aupr", "n_pos"]
    assert table["feature"].tolist() == [f.name for f in FEATURES]
    assert table["category"].tolist() == ["TF", "DNase", "Histone"]
    # Feature 0: 3 of the 4 positive-negative pairs ranked right; AP = (1 + 2/3) / 2.
    assert table.loc[0, "auroc"] == pytest.approx(0.75)
    assert table.loc[0, "aupr"] == pytest.approx(5 / 6)
    # Feature 1: positives 0.5, 0.9 vs negatives 0.5, 0.2; the tie counts one half.
    assert table.loc[1, "auroc"] == pytest.approx(3.5 / 4)
    # Feature 2 has no positive: both metrics undefined.
    assert math.isnan(table.loc[2, "auroc"]) and math.isnan(table.loc[2, "aupr"])
    assert table["n_pos"].tolist() == [2, 2, 0]


def _write_test_set(path: Path, n: int, seq_len: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 4, seq_len), dtype=np.uint8)
    np.put_along_axis(x, rng.integers(0, 4, size=(n, 1, seq_len)), 1, axis=1)
    x[0, :, :5] = 0  # N bases
    y = (rng.random((n, len(FEATURES))) < 0.3).astype(np.uint8)
    with h5py.File(path, "w") as h5:
        h5.create_dataset("x", data=x, chunks=(16, 4, seq_len))
        h5.create_dataset("y", data=y, chunks=(16, len(FEATURES)))
        h5.attrs["features"] = [f.name for f in FEATURES]


def _write_features(path: Path) -> None:
    rows = [("name", "cell_type", "assay", "category")]
    rows += [(f.name, f.cell_type, f.assay, f.category) for f in FEATURES]
    path.write_text("".join("\t".join(r) + "\n" for r in rows))


def test_evaluate_command_matches_sklearn(tmp_path: Path) -> None:
    torch.manual_seed(0)
    seq_len = 60
    spec = {"baseline": "tiny", "conv": [{"filters": 4, "kernel": 5, "pool": 4}], "hidden": 8}
    description = baseline_description(spec, seq_len, len(FEATURES), width_multiplier=1.0)
    model = he_init_(build_model(description))
    info = {"name": "baseline_tiny", **description, "features": [f.name for f in FEATURES]}
    save_model(tmp_path / "baseline_tiny", plain_state_dict(model), {**info, "n_parameters": 1})
    _write_test_set(tmp_path / "test.h5", 70, seq_len, seed=1)
    _write_features(tmp_path / "features.tsv")

    out = tmp_path / "evaluate" / "baseline_tiny.tsv"
    cmd = [
        sys.executable, "-m", "amber.cli", "evaluate", "--model", str(tmp_path / "baseline_tiny"),
        "--test", str(tmp_path / "test.h5"), "--features", str(tmp_path / "features.tsv"),
        "--out", str(out), "--batch-size", "16", "--device", "cpu",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out, sep="\t")

    with h5py.File(tmp_path / "test.h5") as h5:
        x, y = h5["x"][:], h5["y"][:]
    xf = torch.from_numpy(x).float()
    xf[0, :, :5] = 0.25
    with torch.no_grad():
        probs = load_model(tmp_path / "baseline_tiny")(xf).numpy()
    for j in range(len(FEATURES)):
        assert table.loc[j, "auroc"] == pytest.approx(roc_auc_score(y[:, j], probs[:, j]), 1e-8)
        assert table.loc[j, "aupr"] == pytest.approx(
            average_precision_score(y[:, j], probs[:, j]), abs=1e-6
        )
        assert table.loc[j, "n_pos"] == y[:, j].sum()
    # Without --features: the features.tsv beside the test set (where make-dataset puts it).
    default = tmp_path / "evaluate" / "default.tsv"
    without = [a for a in cmd if a not in ("--features", str(tmp_path / "features.tsv"))]
    without[without.index(str(out))] = str(default)
    done = subprocess.run(without, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert default.read_text() == out.read_text()


def _table(values: list[tuple[float, float]]) -> pd.DataFrame:
    """Per-feature table for FEATURES with (auroc, aupr) per feature."""
    return pd.DataFrame(
        {
            "feature": [f.name for f in FEATURES],
            "category": [f.category for f in FEATURES],
            "auroc": [v[0] for v in values],
            "aupr": [v[1] for v in values],
            "n_pos": [5] * len(FEATURES),
        }
    )


TABLES = {
    "searched_1": _table([(0.90, 0.50), (0.80, 0.40), (0.70, float("nan"))]),
    "searched_2": _table([(0.92, 0.55), (0.84, 0.42), (0.75, 0.30)]),
    "searched_3": _table([(0.88, 0.52), (0.86, 0.41), (0.72, 0.33)]),
    "sampled_1": _table([(0.85, 0.45), (0.79, 0.38), (0.69, 0.28)]),
    "sampled_2": _table([(0.80, 0.40), (0.81, 0.35), (0.71, 0.26)]),
    "baseline_cnn3": _table([(0.70, 0.30), (0.60, 0.20), (0.65, 0.25)]),
}
PARAMS = {name: 1000 + i for i, name in enumerate(TABLES)}


def test_summary_and_welch_ttests_against_scipy(tmp_path: Path) -> None:
    tables, infos = [], []
    for name, table in TABLES.items():
        write_tsv(table, tmp_path / "evaluate" / f"{name}.tsv")
        tables.append(tmp_path / "evaluate" / f"{name}.tsv")
        info = {"name": name, "n_parameters": PARAMS[name], **_tiny_description()}
        save_model(tmp_path / "models" / name, {}, info)
        infos.append(tmp_path / "models" / name / "model.json")
    summary, tests = compare_models(
        tables, infos, tmp_path / "summary.tsv", tmp_path / "ttests.tsv"
    )
    read = pd.read_csv(tmp_path / "summary.tsv", sep="\t")
    assert read.shape == summary.shape
    row = read[(read["model"] == "searched_1") & (read["category"] == "all")].iloc[0]
    assert row["group"] == "searched" and row["n_parameters"] == PARAMS["searched_1"]
    assert row["auroc"] == pytest.approx((0.90 + 0.80 + 0.70) / 3)
    assert row["aupr"] == pytest.approx((0.50 + 0.40) / 2)  # NaN left out
    assert set(read["category"]) == {"all", "TF", "DNase", "Histone"}
    assert len(read) == len(TABLES) * 4

    tt = pd.read_csv(tmp_path / "ttests.tsv", sep="\t")
    for category, metric in [("all", "auroc"), ("TF", "aupr"), ("Histone", "auroc")]:
        got = tt[(tt["category"] == category) & (tt["metric"] == metric)].iloc[0]
        a, b = [
            summary[(summary["group"] == g) & (summary["category"] == category)][metric]
            for g in ("searched", "sampled")
        ]
        want = stats.ttest_ind(a, b, equal_var=False)
        assert (got["n_searched"], got["n_sampled"]) == (3, 2)
        assert got["t"] == pytest.approx(want.statistic, rel=1e-8)
        assert got["p_value"] == pytest.approx(want.pvalue, rel=1e-8)
        # Welch's t by hand, so a switch to Student's test would be caught.
        t = (a.mean() - b.mean()) / math.sqrt(a.var(ddof=1) / 3 + b.var(ddof=1) / 2)
        assert got["t"] == pytest.approx(t, rel=1e-8)
        assert got["mean_searched"] == pytest.approx(a.mean())
        assert "Welch" in got["test"]
    # Searched TF AUROC: mean of 0.90, 0.92, 0.88 by hand.
    tf = tt[(tt["category"] == "TF") & (tt["metric"] == "auroc")].iloc[0]
    assert tf["mean_searched"] == pytest.approx(0.90) and tf["mean_sampled"] == pytest.approx(0.825)


def _tiny_description() -> dict:
    spec = {"baseline": "tiny", "conv": [{"filters": 2, "kernel": 3}], "hidden": 2}
    return baseline_description(spec, 10, len(FEATURES), width_multiplier=1.0)


def test_ttest_with_one_model_per_group_is_nan_with_a_note() -> None:
    summary = summarise(
        {k: TABLES[k] for k in ("searched_1", "sampled_1", "baseline_cnn3")}, PARAMS
    )
    tests = ttests(summary)
    assert tests["t"].isna().all() and tests["p_value"].isna().all()
    assert tests["note"].str.contains("needs >= 2 models per group").all()
    assert tests.loc[0, "mean_searched"] == pytest.approx(0.8)


def test_model_group() -> None:
    assert model_group("searched_3") == "searched"
    assert model_group("baseline_deepsea") == "baseline"
    with pytest.raises(ValueError, match="should start with one of searched_"):
        model_group("mymodel")
    assert model_group("mymodel", strict=False) == "other"
    assert model_group("searched", strict=False) == "other"  # a group needs "_<id>"
