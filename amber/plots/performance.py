"""Fig. 2a: test AUROC and AUPR per functional category, searched vs sampled vs baselines.

Each model contributes one number per category (the mean of its per-feature metric over
that category's features); the figure shows those per-model numbers as points, a box per
group when it has three or more models, and the group mean as a bar. Searched vs sampled
is compared per category with Welch's t-test on the per-model means, as in the paper.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from amber.data.features import CATEGORIES
from amber.naming import GROUPS, model_group
from amber.plots.render import GROUP_COLOURS, new_figure, save_figure
from amber.plots.tables import read_evaluation
from amber.stats import welch

METRICS = (("AUROC", "auroc"), ("AUPR", "aupr"))


def _category_order(categories: set[str]) -> list[str]:
    known = [c for c in CATEGORIES if c in categories]
    return known + sorted(categories - set(CATEGORIES))


def _stars(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return ""
    for threshold, mark in ((0.001, "***"), (0.01, "**"), (0.05, "*")):
        if p < threshold:
            return mark
    return "ns"


def _category_mean(table: pd.DataFrame, category: str, column: str) -> float:
    values = table.loc[table["category"] == category, column].to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    # A category whose features all lack test positives has no metric.
    return float(values.mean()) if values.size else float("nan")


def _welch_p(a: list[float], b: list[float]) -> float | None:
    p = welch(a, b)[1]
    return p if np.isfinite(p) else None


def summarise_performance(tables: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """Model name -> evaluation table  ==>  the numbers Fig. 2a shows (the sidecar)."""
    if not tables:
        raise ValueError("fig2a needs at least one evaluation table")
    groups = {name: model_group(name) for name in tables}
    # Categories with no finite metric in any model (no test positives) are left out.
    categories = _category_order(
        {c for t in tables.values() for c in t.loc[np.isfinite(t["auroc"]), "category"]}
    )
    if not categories:
        raise ValueError("no finite AUROC in any evaluation table (no test positives?)")
    first = next(iter(tables.values()))
    # Features without test positives (NaN metric) are not counted, as in the means.
    n_features = {
        c: int(np.isfinite(first.loc[first["category"] == c, "auroc"].to_numpy(float)).sum())
        for c in categories
    }
    panels = []
    for title, column in METRICS:
        per_model = {
            name: [_category_mean(t, c, column) for c in categories] for name, t in tables.items()
        }
        series = []
        for group in GROUPS:
            models = {n: v for n, v in per_model.items() if groups[n] == group}
            if not models:
                continue
            matrix = np.array(list(models.values()), dtype=float)
            means = [
                float(np.nanmean(col)) if np.isfinite(col).any() else float("nan")
                for col in matrix.T
            ]
            series.append({"label": group, "x": categories, "y": means, "models": models})
        by_label = {s["label"]: s for s in series}
        tests = {}
        if "searched" in by_label and "sampled" in by_label:
            for i, c in enumerate(categories):
                p = _welch_p(
                    [v[i] for v in by_label["searched"]["models"].values()],
                    [v[i] for v in by_label["sampled"]["models"].values()],
                )
                tests[c] = {"p": p, "stars": _stars(p)}
        panels.append(
            {
                "title": title,
                "x_label": "functional category",
                "y_label": f"test {title} (mean over features)",
                "series": series,
                "tests": tests,
            }
        )
    return {
        "figure": "fig2a",
        "title": "Test performance per functional category",
        "categories": categories,
        "n_features": n_features,
        "panels": panels,
        "test": "Welch t-test, searched vs sampled, on per-model category means",
    }


def _marker(group: str, k: int) -> str:
    return "osD^vP*X"[k % 8] if group == "baseline" else "o"


def draw_performance(summary: dict[str, Any]):
    """The Fig. 2a figure from :func:`summarise_performance`'s output."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    categories = summary["categories"]
    n_cat = len(categories)
    fig = new_figure(2 * (1.25 * n_cat + 1.2), 3.8)
    axes = fig.subplots(1, len(summary["panels"]), squeeze=False)[0]
    for ax, panel in zip(axes, summary["panels"], strict=True):
        series = panel["series"]
        width = 0.8 / len(series)
        top = {}
        for j, s in enumerate(series):
            colour = GROUP_COLOURS[s["label"]]
            offset = (j - (len(series) - 1) / 2) * width
            values = np.array(list(s["models"].values()), dtype=float).reshape(-1, n_cat)
            for i in range(n_cat):
                x = i + offset
                col = values[:, i][np.isfinite(values[:, i])]
                if col.size >= 3:
                    box = ax.boxplot(
                        col,
                        positions=[x],
                        widths=width * 0.75,
                        showfliers=False,
                        patch_artist=True,
                        medianprops={"color": colour},
                    )
                    for patch in box["boxes"]:
                        patch.set(facecolor="white", edgecolor=colour)
                if not col.size:
                    continue
                # Deterministic spread of the points so that equal values stay visible.
                n = values.shape[0]
                px = x + (np.linspace(-0.22, 0.22, n) * width if n > 1 else np.zeros(1))
                for k in range(n):
                    ax.scatter(
                        px[k],
                        values[k, i],
                        s=20,
                        marker=_marker(s["label"], k),
                        color=colour,
                        edgecolor="black",
                        linewidth=0.4,
                        zorder=3,
                    )
                ax.hlines(
                    s["y"][i], x - width * 0.4, x + width * 0.4, color="black", lw=1.5, zorder=4
                )
                top[i] = max(top.get(i, -np.inf), float(col.max()))
        # Searched-vs-sampled significance above each category.
        labels = [s["label"] for s in series]
        if panel["tests"]:
            lo, hi = ax.get_ylim()
            pad = 0.04 * (hi - lo)
            xs = [
                (labels.index(g) - (len(series) - 1) / 2) * width for g in ("searched", "sampled")
            ]
            for i, c in enumerate(categories):
                mark = panel["tests"][c]["stars"]
                if not mark or i not in top:
                    continue
                y = top[i] + pad
                ax.plot(
                    [i + xs[0], i + xs[0], i + xs[1], i + xs[1]],
                    [y, y + pad / 2, y + pad / 2, y],
                    color="black",
                    lw=0.8,
                )
                ax.text(i + sum(xs) / 2, y + pad / 2, mark, ha="center", va="bottom", fontsize=8)
            ax.set_ylim(lo, max([hi, *(v + 3 * pad for v in top.values())]))
        ax.set_xticks(range(n_cat))
        ax.set_xticklabels([f"{c}\n(n={summary['n_features'][c]})" for c in categories])
        ax.set_xlim(-0.6, n_cat - 0.4)
        ax.set_title(panel["title"])
        ax.set_ylabel(panel["y_label"])
        ax.grid(axis="y", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    handles = []
    for s in summary["panels"][0]["series"]:
        colour = GROUP_COLOURS[s["label"]]
        handles.append(Patch(facecolor=colour, label=f"{s['label']} ({len(s['models'])})"))
        if s["label"] == "baseline" and len(s["models"]) > 1:
            # Baselines are different architectures: tell them apart by marker.
            handles += [
                Line2D(
                    [],
                    [],
                    ls="",
                    marker=_marker("baseline", k),
                    color=colour,
                    markeredgecolor="black",
                    markeredgewidth=0.4,
                    label=f"  {name.removeprefix('baseline_')}",
                )
                for k, name in enumerate(s["models"])
            ]
    fig.legend(handles=handles, loc="outside right center", frameon=False, title="models")
    fig.suptitle(summary["title"])
    return fig


def plot_performance(evaluations: Mapping[str, str | Path | pd.DataFrame], out: str | Path) -> Path:
    """Fig. 2a from model name -> evaluation TSV path (or table); writes PNG, PDF and JSON
    beside ``out``; returns the PNG path."""
    tables = {
        name: t if isinstance(t, pd.DataFrame) else read_evaluation(t)
        for name, t in evaluations.items()
    }
    summary = summarise_performance(tables)
    return save_figure(draw_performance(summary), out, summary)
