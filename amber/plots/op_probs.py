"""Fig. 3a: the controller's op selection probability per layer over the search.

One small panel per layer (lines per op over controller steps: the mean over the searched
replicates, with their min-max range as a band), and a bottom panel with each layer's
probabilities at the last step, which is what the paper's Fig. 3a shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from amber.plots.render import new_figure, save_figure
from amber.plots.tables import read_op_probs


def _op_columns(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    names = list(tables)
    ops = [c for c in tables[names[0]].columns if c not in ("step", "layer")]
    for name in names[1:]:
        other = [c for c in tables[name].columns if c not in ("step", "layer")]
        if other != ops:
            raise ValueError(
                f"op columns of {name} ({', '.join(other)}) differ from {names[0]} "
                f"({', '.join(ops)}); were they searched in the same model space?"
            )
    return ops


def _band(frame: pd.DataFrame, keys: list[str], ops: list[str]) -> dict[str, pd.DataFrame]:
    grouped = frame.groupby(keys)[ops]
    return {"mean": grouped.mean(), "lo": grouped.min(), "hi": grouped.max()}


def summarise_op_probs(tables: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """Replicate name -> op_probs table  ==>  the numbers Fig. 3a shows (the sidecar)."""
    if not tables:
        raise ValueError("fig3a needs at least one op_probs table")
    ops = _op_columns(tables)
    frame = pd.concat([t.assign(replicate=name) for name, t in tables.items()])
    stats = _band(frame, ["layer", "step"], ops)
    layers = sorted(frame["layer"].unique().tolist())
    panels = []
    for layer in layers:
        steps = stats["mean"].loc[layer].index.tolist()
        panels.append(
            {
                "title": f"layer {layer}",
                "layer": layer,
                "x_label": "controller step",
                "y_label": "selection probability",
                "series": [
                    {
                        "label": op,
                        "x": steps,
                        "y": stats["mean"].loc[layer, op].tolist(),
                        "lo": stats["lo"].loc[layer, op].tolist(),
                        "hi": stats["hi"].loc[layer, op].tolist(),
                    }
                    for op in ops
                ],
            }
        )
    # Each replicate's own last step (replicates may have run different step counts).
    last = frame[frame["step"] == frame.groupby("replicate")["step"].transform("max")]
    final = _band(last, ["layer"], ops)
    final_panel = {
        "title": "last step",
        "x_label": "layer",
        "y_label": "selection probability",
        "series": [
            {
                "label": op,
                "x": final["mean"].index.tolist(),
                "y": final["mean"][op].tolist(),
                "lo": final["lo"][op].tolist(),
                "hi": final["hi"][op].tolist(),
            }
            for op in ops
        ],
    }
    return {
        "figure": "fig3a",
        "title": "Controller op selection probability per layer",
        "ops": ops,
        "layers": layers,
        "replicates": list(tables),
        "band": "min-max over replicates",
        "panels": panels,
        "final": final_panel,
    }


def _draw_series(
    ax, panel: dict[str, Any], colours: dict[str, Any], band: bool, alpha: float = 0.18
) -> None:
    from matplotlib.ticker import MaxNLocator

    for s in panel["series"]:
        ax.plot(s["x"], s["y"], color=colours[s["label"]], lw=1.3, label=s["label"])
        if band:
            ax.fill_between(s["x"], s["lo"], s["hi"], color=colours[s["label"]], alpha=alpha, lw=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def draw_op_probs(summary: dict[str, Any]):
    """The Fig. 3a figure from :func:`summarise_op_probs`'s output."""
    from matplotlib import colormaps

    ops = summary["ops"]
    palette = colormaps["tab10"] if len(ops) <= 10 else colormaps["tab20"]
    colours = {op: palette(i) for i, op in enumerate(ops)}
    uniform = 1 / len(ops)
    band = len(summary["replicates"]) > 1
    n_layers = len(summary["panels"])
    ncols = min(n_layers, 4 if n_layers % 3 else 3)
    nrows = math.ceil(n_layers / ncols)
    fig = new_figure(2.3 * ncols + 1.6, 1.9 * nrows + 2.6)
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[1] * nrows + [1.3])
    first = None
    for k, panel in enumerate(summary["panels"]):
        ax = fig.add_subplot(grid[k // ncols, k % ncols], sharey=first)
        first = first or ax
        _draw_series(ax, panel, colours, band)
        ax.axhline(uniform, color="grey", lw=0.7, ls=":")
        ax.set_title(panel["title"], fontsize=9)
        ax.tick_params(labelsize=7)
        if k // ncols == nrows - 1 or k + ncols >= n_layers:
            ax.set_xlabel(panel["x_label"], fontsize=8)
        if k % ncols == 0:
            ax.set_ylabel("probability", fontsize=8)
    ax = fig.add_subplot(grid[nrows, :])
    final = summary["final"]
    _draw_series(ax, final, colours, band, alpha=0.08)
    for s in final["series"]:
        ax.scatter(s["x"], s["y"], color=colours[s["label"]], s=12, zorder=3)
    ax.axhline(uniform, color="grey", lw=0.7, ls=":", label="uniform")
    ax.set_xticks(final["series"][0]["x"])
    ax.set_xlabel(final["x_label"], fontsize=9)
    ax.set_ylabel(final["y_label"], fontsize=9)
    ax.set_title("selection probability at the last step", fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", frameon=False, title="op")
    note = f"mean of {len(summary['replicates'])} searches" + (" (band: min-max)" if band else "")
    fig.suptitle(f"{summary['title']} — {note}", fontsize=11)
    return fig


def plot_op_probs(op_probs: Mapping[str, str | Path | pd.DataFrame], out: str | Path) -> Path:
    """Fig. 3a from replicate name -> op_probs.tsv path (or table); writes PNG, PDF and
    JSON beside ``out``; returns the PNG path."""
    tables = {
        name: t if isinstance(t, pd.DataFrame) else read_op_probs(t) for name, t in op_probs.items()
    }
    summary = summarise_op_probs(tables)
    return save_figure(draw_op_probs(summary), out, summary)
