"""Search progress: reward (mean, max, moving-average baseline) and skip-connection
density per controller step, one line style per quantity and one colour per search.

A search without a controller that rewards one candidate per step (``strategy:
short_training``: no baseline, one reward per row) is drawn per candidate instead: each
candidate's reward and the best so far, which is what such a search improves. With
``finalists``, their rows follow the screen's: the same architectures again, rewarded
after their longer training."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from amber.plots.render import new_figure, save_figure
from amber.plots.tables import read_history

REWARD_SERIES = (("mean_reward", "-"), ("max_reward", "--"), ("baseline", ":"))
CANDIDATE_SERIES = (("reward", ":"), ("best_so_far", "-"))


def is_per_candidate(history: pd.DataFrame) -> bool:
    """One rewarded candidate per row and no controller (``strategy: short_training``)."""
    rewarded = history["mean_reward"].notna()
    return bool(
        rewarded.any()
        and history["baseline"].isna().all()
        and history.loc[rewarded, "mean_reward"].equals(history.loc[rewarded, "max_reward"])
    )


def summarise_progress(
    histories: Mapping[str, pd.DataFrame], skip_target: float | None = None
) -> dict[str, Any]:
    """Replicate name -> history table  ==>  the numbers the figure shows (the sidecar)."""
    if not histories:
        raise ValueError("search progress needs at least one history table")

    per_candidate = all(is_per_candidate(h) for h in histories.values())
    if per_candidate:
        histories = {
            name: h.assign(reward=h["mean_reward"], best_so_far=h["mean_reward"].cummax())
            for name, h in histories.items()
        }

    def series(column: str) -> list[dict[str, Any]]:
        return [
            {
                "label": column,
                "replicate": name,
                "x": h["step"].astype(int).tolist(),
                "y": h[column].tolist(),
            }
            for name, h in histories.items()
        ]

    rewards = CANDIDATE_SERIES if per_candidate else REWARD_SERIES
    x_label = "candidate (trained alone)" if per_candidate else "controller step"
    return {
        "figure": "search_progress",
        "title": "Architecture search progress",
        "replicates": list(histories),
        "skip_target": skip_target,
        "panels": [
            {
                "title": "reward (validation AUROC)",
                "x_label": x_label,
                "y_label": "reward",
                "series": [s for column, _ in rewards for s in series(column)],
            },
            {
                "title": "skip-connection density",
                "x_label": x_label,
                "y_label": "fraction of skips used",
                "series": series("skip_density"),
            },
        ],
    }


def draw_progress(summary: dict[str, Any]):
    """The search-progress figure from :func:`summarise_progress`'s output."""
    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    palette = colormaps["tab10"]
    colours = {name: palette(i % 10) for i, name in enumerate(summary["replicates"])}
    labels = {s["label"] for s in summary["panels"][0]["series"]}
    reward_series = [(k, ls) for k, ls in (*REWARD_SERIES, *CANDIDATE_SERIES) if k in labels]
    styles = dict(reward_series) | {"skip_density": "-"}
    fig = new_figure(10, 3.8)
    axes = fig.subplots(1, 2)
    for ax, panel in zip(axes, summary["panels"], strict=True):
        for s in panel["series"]:
            ax.plot(s["x"], s["y"], color=colours[s["replicate"]], ls=styles[s["label"]], lw=1.3)
        ax.set_title(panel["title"], fontsize=10)
        ax.set_xlabel(panel["x_label"])
        ax.set_ylabel(panel["y_label"])
        ax.grid(alpha=0.3)
    if summary["skip_target"] is not None:
        axes[1].axhline(summary["skip_target"], color="grey", ls="--", lw=1)
    handles = [Line2D([], [], color=c, label=n) for n, c in colours.items()]
    handles += [
        Line2D([], [], color="black", ls=ls, label=label.replace("_", " "))
        for label, ls in reward_series
    ]
    if summary["skip_target"] is not None:
        handles.append(Line2D([], [], color="grey", ls="--", label="skip target"))
    fig.legend(handles=handles, loc="outside right center", frameon=False)
    fig.suptitle(summary["title"], fontsize=11)
    return fig


def plot_progress(
    histories: Mapping[str, str | Path | pd.DataFrame],
    out: str | Path,
    skip_target: float | None = None,
) -> Path:
    """Search progress from replicate name -> history.csv path (or table); writes PNG, PDF
    and JSON beside ``out``; returns the PNG path."""
    tables = {
        name: h if isinstance(h, pd.DataFrame) else read_history(h) for name, h in histories.items()
    }
    summary = summarise_progress(tables, skip_target)
    return save_figure(draw_progress(summary), out, summary)
