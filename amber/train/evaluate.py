"""Test-set evaluation of trained models and the searched-vs-sampled comparison.

Per model (``amber evaluate``): a TSV with one row per feature, in features.tsv order::

    feature  category  auroc  aupr  n_pos

(``auroc``/``aupr`` empty = NaN where the test set lacks a class of that feature).

Across models (``amber compare``):

- ``summary.tsv``, long form: ``model, group, n_parameters, category, n_features, auroc,
  aupr`` with one row per model for ``all`` features and one per category; ``auroc`` and
  ``aupr`` are means over the features with a defined value. ``group`` is the model
  name's prefix: searched, sampled or baseline.
- ``ttests.tsv``: for each category (and ``all``) and metric, Welch's two-sample t-test
  (unequal variances) of the searched models' means against the sampled models' means:
  ``category, metric, n_searched, n_sampled, mean_searched, mean_sampled, t, p_value,
  test, note``. With fewer than two models in a group, or no variance at all, ``t`` and
  ``p_value`` are NaN and ``note`` says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from amber.data.features import CATEGORIES, Feature, read_features
from amber.data.loader import dataset_info, iter_batches
from amber.fileio import atomic_path
from amber.metrics import aupr_per_feature, auroc_per_feature
from amber.naming import model_group
from amber.stats import welch
from amber.train.model_io import load_model, read_model_info

EVAL_COLUMNS = ("feature", "category", "auroc", "aupr", "n_pos")
SUMMARY_COLUMNS = ("model", "group", "n_parameters", "category", "n_features", "auroc", "aupr")
TTEST_COLUMNS = (
    "category",
    "metric",
    "n_searched",
    "n_sampled",
    "mean_searched",
    "mean_sampled",
    "t",
    "p_value",
    "test",
    "note",
)
TEST_NAME = "Welch two-sample t-test (unequal variances), two-sided"
# Features per AUROC call: bounds the float64 rank matrix on a DeepSEA-size test set.
_COLUMN_CHUNK = 64


def evaluate_predictions(
    y_true: np.ndarray, y_score: np.ndarray, features: Sequence[Feature]
) -> pd.DataFrame:
    """Per-feature AUROC, AUPR and positive count (columns :data:`EVAL_COLUMNS`)."""
    if y_true.shape != y_score.shape or y_true.ndim != 2:
        raise ValueError(f"expected two (N, F) arrays, got {y_true.shape} and {y_score.shape}")
    if y_true.shape[1] != len(features):
        raise ValueError(f"{y_true.shape[1]} label columns but {len(features)} features")
    auroc = np.concatenate(
        [
            auroc_per_feature(y_true[:, j : j + _COLUMN_CHUNK], y_score[:, j : j + _COLUMN_CHUNK])
            for j in range(0, y_true.shape[1], _COLUMN_CHUNK)
        ]
    )
    return pd.DataFrame(
        {
            "feature": [f.name for f in features],
            "category": [f.category for f in features],
            "auroc": auroc,
            "aupr": aupr_per_feature(y_true, y_score),
            "n_pos": np.asarray(y_true).astype(bool).sum(axis=0).astype(int),
        },
        columns=list(EVAL_COLUMNS),
    )


@torch.no_grad()
def predict_h5(
    model: torch.nn.Module, path: str | Path, batch_size: int, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """(labels uint8 (N, F), scores float32 (N, F)) of a dataset, in file order.

    Scores are logits where the model has ``forward_logits`` (ours all do): they rank
    like the probabilities but do not saturate into ties at 0 or 1 in float32.
    """
    model.eval()
    score = getattr(model, "forward_logits", model)
    ys, ps = [], []
    for x, y in iter_batches(path, batch_size, seed=0, epoch=0, shuffle=False):
        ps.append(score(x.to(device)).float().cpu().numpy())
        ys.append(y.numpy().astype(np.uint8))
    if not ys:
        raise ValueError(f"{path}: no samples to evaluate")
    return np.concatenate(ys), np.concatenate(ps)


def evaluate_model(
    model_dir: str | Path,
    test_h5: str | Path,
    features_tsv: str | Path,
    out_tsv: str | Path,
    *,
    batch_size: int = 1000,
    device: torch.device | str = "cpu",
    rc_average: bool | None = None,
) -> pd.DataFrame:
    """Predict the test set with a trained model and write its per-feature table.
    ``rc_average``: see :func:`~amber.train.model_io.load_model`."""
    device = torch.device(device)
    features = read_features(features_tsv)
    names = [f.name for f in features]
    info = read_model_info(model_dir)
    test = dataset_info(test_h5)
    sources = ((f"{model_dir}/model.json", info.get("features")), (test_h5, test["features"]))
    for source, listed in sources:
        if listed and list(listed) != names:
            raise ValueError(f"{source}: features differ from {features_tsv} (names or order)")
    if test["seq_len"] != info["seq_len"] or test["n_features"] != info["n_features"]:
        raise ValueError(
            f"{test_h5}: seq_len {test['seq_len']} and {test['n_features']} features, but the "
            f"model in {model_dir} takes {info['seq_len']} bp and predicts {info['n_features']}"
        )
    model = load_model(model_dir, device=device, rc_average=rc_average)
    y_true, y_score = predict_h5(model, test_h5, batch_size, device)
    table = evaluate_predictions(y_true, y_score, features)
    write_tsv(table, out_tsv)
    return table


def write_tsv(table: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.10g", na_rep="NaN")


def read_evaluation(path: str | Path) -> pd.DataFrame:
    table = pd.read_csv(path, sep="\t", keep_default_na=True)
    missing = [c for c in EVAL_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; is it an `amber evaluate` table?")
    return table


def _categories(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    present = set().union(*(set(t["category"]) for t in tables.values())) if tables else set()
    ordered = [c for c in CATEGORIES if c in present]
    return ["all", *ordered, *sorted(present - set(ordered))]


def summarise(tables: Mapping[str, pd.DataFrame], n_parameters: Mapping[str, int]) -> pd.DataFrame:
    """Mean AUROC/AUPR per model and category (plus ``all``); long form."""
    rows = []
    categories = _categories(tables)
    for name, table in tables.items():
        for category in categories:
            part = table if category == "all" else table[table["category"] == category]
            if part.empty:
                continue
            rows.append(
                {
                    "model": name,
                    "group": model_group(name),
                    "n_parameters": int(n_parameters[name]),
                    "category": category,
                    "n_features": len(part),
                    "auroc": _nanmean(part["auroc"]),
                    "aupr": _nanmean(part["aupr"]),
                }
            )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _nanmean(values: pd.Series) -> float:
    arr = values.to_numpy(dtype=float)
    return float(np.nanmean(arr)) if np.isfinite(arr).any() else math.nan


def ttests(summary: pd.DataFrame) -> pd.DataFrame:
    """Searched vs sampled per category and metric (columns :data:`TTEST_COLUMNS`)."""
    rows = []
    categories = list(dict.fromkeys(summary["category"]))
    for category in categories:
        part = summary[summary["category"] == category]
        for metric in ("auroc", "aupr"):
            a = part.loc[part["group"] == "searched", metric].to_list()
            b = part.loc[part["group"] == "sampled", metric].to_list()
            t, p, note = welch(a, b)
            rows.append(
                {
                    "category": category,
                    "metric": metric,
                    "n_searched": len(a),
                    "n_sampled": len(b),
                    "mean_searched": _mean_or_nan(a),
                    "mean_sampled": _mean_or_nan(b),
                    "t": t,
                    "p_value": p,
                    "test": TEST_NAME,
                    "note": note,
                }
            )
    return pd.DataFrame(rows, columns=list(TTEST_COLUMNS))


def _mean_or_nan(values: Sequence[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def compare_models(
    evaluations: Sequence[str | Path],
    model_infos: Sequence[str | Path],
    summary_tsv: str | Path,
    ttests_tsv: str | Path,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write summary.tsv and ttests.tsv. Model names are the evaluation files' stems;
    ``model_infos`` are the models' model.json files, in the same order."""
    if len(evaluations) != len(model_infos):
        raise ValueError(
            f"{len(evaluations)} evaluation tables but {len(model_infos)} model.json files"
        )
    tables, n_params = {}, {}
    for table_path, info_path in zip(evaluations, model_infos, strict=True):
        name = Path(table_path).stem
        if name in tables:
            raise ValueError(f"{table_path}: model {name!r} given twice")
        if Path(info_path).parent.name != name:
            raise ValueError(
                f"{info_path}: expected the model.json of {name!r} (same order as the tables)"
            )
        info = read_model_info(Path(info_path).parent)
        tables[name] = read_evaluation(table_path)
        n_params[name] = info["n_parameters"]
    summary = summarise(tables, n_params)
    tests = ttests(summary)
    write_tsv(summary, summary_tsv)
    write_tsv(tests, ttests_tsv)
    return summary, tests
