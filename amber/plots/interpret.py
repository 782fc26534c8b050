"""The interpretation figure: which planted TFs each model recovered (models x TFs), and
recall and attribution AUROC per group (searched / sampled / baselines), with Wilcoxon
rank-sum tests (two-sided, Mann-Whitney U) of searched against the other groups."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from amber.naming import GROUPS, model_group
from amber.stats import rank_sum


def read_truth_tables(paths: Sequence[Path]) -> pd.DataFrame:
    tables = []
    for path in paths:
        table = pd.read_csv(path, sep="\t")
        missing = {"model", "tf", "recovered", "attributed", "attribution_auroc"} - set(table)
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}; rerun amber interpret")
        tables.append(table)
    if not tables:
        raise ValueError("no truth.tsv given")
    return pd.concat(tables, ignore_index=True)


def per_model(truth: pd.DataFrame) -> pd.DataFrame:
    """Recall and mean attribution AUROC per model (over the TFs it was asked about)."""
    asked = truth[truth["attributed"].astype(bool)]
    out = asked.groupby("model").agg(
        recall=("recovered", "mean"), mean_auroc=("attribution_auroc", "mean")
    )
    out["group"] = [model_group(m, strict=False) for m in out.index]
    return out.reset_index()


def group_tests(models: pd.DataFrame) -> dict[str, float]:
    tests = {}
    searched = models[models["group"] == "searched"]
    for other in ("sampled", "baseline"):
        rest = models[models["group"] == other]
        for metric in ("recall", "mean_auroc"):
            tests[f"{metric}_searched_vs_{other}_p"] = rank_sum(searched[metric], rest[metric])
    return tests


def plot_recovery(truth_paths: Sequence[Path], out: Path) -> dict:
    """Draw the figure to ``out`` (PNG, plus PDF and JSON sidecar); return the sidecar."""
    from amber.plots.render import GROUP_COLOURS, new_figure, save_figure

    truth = read_truth_tables(truth_paths)
    models = per_model(truth)
    order = {g: i for i, g in enumerate((*GROUPS, "other"))}
    models["rank"] = models["group"].map(order)
    models = models.sort_values(["rank", "model"]).drop(columns="rank").reset_index(drop=True)
    tfs = sorted(truth["tf"].unique())
    grid = (
        truth.pivot_table(index="model", columns="tf", values="recovered", aggfunc="max")
        .reindex(index=models["model"], columns=tfs)
        .astype(float)
    )
    tests = group_tests(models)

    fig = new_figure(11, max(3.0, 0.35 * len(models) + 1.6))
    left, mid, right = fig.subplots(1, 3, width_ratios=[max(len(tfs), 1), 3, 3])
    left.imshow(grid.to_numpy(), cmap="Greens", vmin=0, vmax=1.3, aspect="auto")
    left.set_xticks(range(len(tfs)), tfs, rotation=60, ha="right", fontsize=7)
    left.set_yticks(range(len(models)), models["model"], fontsize=7)
    for tick, group in zip(left.get_yticklabels(), models["group"], strict=True):
        tick.set_color(GROUP_COLOURS.get(group, "black"))
    left.set_title("planted TF recovered (q < 0.05)", fontsize=9)
    panels = []
    for ax, metric, label in (
        (mid, "recall", "recall of planted TFs"),
        (right, "mean_auroc", "attribution AUROC"),
    ):
        series = []
        for i, group in enumerate(GROUPS):
            values = models.loc[models["group"] == group, metric].to_numpy(dtype=float)
            ax.scatter(np.full(len(values), i), values, color=GROUP_COLOURS[group], zorder=3)
            if len(values):
                ax.hlines(np.nanmean(values), i - 0.3, i + 0.3, color="black")
            series.append({"label": group, "x": [i] * len(values), "y": values.tolist()})
        ax.set_xticks(range(len(GROUPS)), GROUPS, fontsize=8)
        ax.set_xlim(-0.6, len(GROUPS) - 0.4)
        ax.set_ylabel(label, fontsize=8)
        p_s = tests[f"{metric}_searched_vs_sampled_p"]
        p_b = tests[f"{metric}_searched_vs_baseline_p"]
        ax.set_title(f"vs sampled p={p_s:.2g}; vs baselines p={p_b:.2g}", fontsize=7)
        panels.append({"title": label, "x_label": "group", "y_label": label, "series": series})
    sidecar = {
        "figure": "interpret_recovery",
        "title": "Planted motifs recovered by each model",
        "panels": panels,
        "tfs": tfs,
        "models": models.to_dict(orient="records"),
        "recovered": {m: grid.loc[m].tolist() for m in grid.index},
        "tests": tests,
        "test": "Wilcoxon rank-sum (Mann-Whitney U), two-sided, per-model values",
        "group_means": {
            g: {
                k: float(models.loc[models["group"] == g, k].mean())
                for k in ("recall", "mean_auroc")
            }
            for g in GROUPS
        },
    }
    save_figure(fig, out, sidecar)
    return sidecar
