"""Shared drawing helpers: a headless figure, group colours, and the atomic save of a
figure as PNG + PDF + JSON sidecar.

The sidecar (``<stem>.json``) holds the numbers each panel shows, so tests and readers
can check a figure without looking at pixels. Its layout::

    {"figure": "fig2a", "title": "...", "panels": [
        {"title": "AUROC", "x_label": "...", "y_label": "...",
         "series": [{"label": "searched", "x": [...], "y": [...], ...}, ...]}, ...],
     ...figure-specific keys}
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from amber.fileio import atomic_path

# Paper colours: searched orange, sampled grey (Fig. 2a); baselines blue.
GROUP_COLOURS = {"searched": "#e6791f", "sampled": "#8c8c8c", "baseline": "#3a6ea5"}


def new_figure(width: float, height: float):
    """A matplotlib Figure on the Agg canvas. Uses no pyplot, so no global backend state
    is touched and it works without a display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_paths(out: str | Path) -> dict[str, Path]:
    """``results/x/fig2a.png`` (or the bare stem) -> the png, pdf and json paths."""
    out = Path(out)
    stem = out.with_suffix("") if out.suffix.lower() in {".png", ".pdf", ".json"} else out
    return {ext: stem.with_name(f"{stem.name}.{ext}") for ext in ("png", "pdf", "json")}


def json_safe(value: Any) -> Any:
    """NaN/inf -> None (JSON has no NaN); numpy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_png(fig, png: str | Path, title: str, dpi: int = 150) -> None:
    """``fig`` as PNG, atomically, with fixed metadata, so identical runs give
    byte-identical files."""
    # Temp files end in .tmp, so the format is given explicitly.
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Title": title, "Software": "amber"})


def write_png_pdf(fig, png: str | Path, pdf: str | Path, title: str, dpi: int = 150) -> None:
    """``fig`` as PNG (:func:`write_png`) and PDF, atomically, with fixed metadata (no
    creation date), so identical runs give byte-identical files."""
    write_png(fig, png, title, dpi)
    with atomic_path(pdf) as tmp:
        fig.savefig(
            tmp, format="pdf", metadata={"Title": title, "Creator": "amber", "CreationDate": None}
        )


def save_figure(fig, out: str | Path, sidecar: dict[str, Any], dpi: int = 150) -> Path:
    """Write ``<stem>.png``, ``<stem>.pdf`` and ``<stem>.json`` atomically; return the PNG."""
    paths = figure_paths(out)
    title = str(sidecar.get("title", paths["png"].stem))
    write_png_pdf(fig, paths["png"], paths["pdf"], title, dpi)
    with atomic_path(paths["json"]) as tmp:
        tmp.write_text(json.dumps(json_safe(sidecar), indent=1) + "\n")
    return paths["png"]


def read_sidecar(out: str | Path) -> dict[str, Any]:
    """The sidecar of a figure written by :func:`save_figure`."""
    return json.loads(figure_paths(out)["json"].read_text())
