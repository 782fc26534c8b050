"""The files of one model's interpretation, ``results/<run>/interpret/<model>/``:

- ``attributions.h5``: one row per (sequence, feature) pair: ``x`` uint8 ``(P, 4, L)``
  one-hot A,C,G,T, ``hypothetical`` float32 ``(P, 4, L)`` DeepLIFT/SHAP hypothetical
  contributions (x them by ``x`` for the actual ones), ``feature`` (output index),
  ``row`` (row in the dataset file), ``chrom``/``start``/``end``; ``ism`` float32
  ``(M, 4, L)`` for pairs ``ism_pair``; attrs ``features`` (names), ``model``,
  ``method``, ``n_shuffles``, ``base_order``.
- ``motifs.h5``: modisco-lite's own format (``pos_patterns``/``neg_patterns``), plus
  ``filters/<name>/ppm`` for the first-layer filter motifs.
- ``motifs.meme``: every discovered motif (trimmed PPM) in MEME format.
- ``matches.tsv``: per motif its best JASPAR match, p- and q-value.
- ``truth.tsv`` (simulated genome only): per planted TF, recovered or not, and the
  attribution AUROC; ``summary.json``: counts, recall, precision, timings.
- ``logos.png``: a sheet of the motifs' logos with their best match.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from amber.fileio import atomic_path
from amber.interpret.discovery import Motif
from amber.interpret.pipeline import Interpretation


def write_attributions(
    path: Path,
    interp: Interpretation,
    x: np.ndarray,
    coords: dict[str, np.ndarray],
    features: Sequence[str],
    attrs: dict,
) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        rows = interp.rows
        h5.create_dataset("x", data=(x[rows] > 0.5).astype(np.uint8), compression="gzip")
        h5.create_dataset("hypothetical", data=interp.hypothetical, compression="gzip")
        h5["feature"] = interp.features
        h5["row"] = rows
        h5["chrom"] = np.array([str(c).encode() for c in coords["chrom"][rows]], dtype=np.bytes_)
        for key in ("start", "end"):
            h5[key] = coords[key][rows]
        h5.create_dataset("ism", data=interp.ism, compression="gzip")
        h5["ism_pair"] = interp.ism_pairs
        h5.attrs["features"] = list(features)
        h5.attrs["base_order"] = "ACGT"
        for key, value in attrs.items():
            h5.attrs[key] = value


def write_motifs(path: Path, interp: Interpretation, window: int) -> None:
    """``motifs.h5`` (modisco-lite's writer, plus the filter motifs)."""
    from modiscolite.io import save_hdf5

    pos, neg = interp.patterns
    with atomic_path(path) as tmp:
        save_hdf5(str(tmp), pos, neg, window)
        with h5py.File(tmp, "a") as h5:
            group = h5.create_group("filters")
            for motif in interp.motifs:
                if motif.source == "filter":
                    group.create_group(motif.name)["ppm"] = motif.ppm


def write_meme(path: Path, motifs: Sequence[Motif]) -> None:
    from memelite.io import write_meme as memelite_write_meme

    with atomic_path(path) as tmp:
        memelite_write_meme(str(tmp), {m.name: np.asarray(m.ppm).T for m in motifs})


def write_table(path: Path, table: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def write_json(path: Path, data: dict) -> None:
    """``data`` as JSON, non-finite numbers as null (:func:`amber.plots.render.json_safe`)."""
    from amber.plots.render import json_safe

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(json_safe(data), indent=1) + "\n")


def write_logo_sheet(path: Path, motifs: Sequence[Motif], matches: pd.DataFrame, title: str):
    """One logo per motif (CWM for TF-MoDISco motifs, information-scaled PPM for filters,
    at most 24), titled with its best JASPAR match."""
    from tangermeme.plot import plot_logo

    from amber.interpret.discovery import information_content
    from amber.plots.render import new_figure, write_png

    shown = list(motifs)[:24]
    n_cols = 3
    n_rows = max(1, math.ceil(len(shown) / n_cols))
    fig = new_figure(4.2 * n_cols, 1.5 * n_rows + 0.4)
    fig.suptitle(title)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    best = matches.set_index("motif")
    for ax, motif in zip(axes.flat, shown, strict=False):
        if motif.source == "modisco":
            weights = np.asarray(motif.cwm)
        else:
            weights = np.asarray(motif.ppm) * information_content(motif.ppm)[:, None]
        plot_logo(weights.T, ax=ax)
        m = best.loc[motif.name]
        label = f"{m['jaspar_name']} {m['jaspar_id']} q={m['q_value']:.1g}"
        ax.set_title(f"{motif.name} (n={motif.n_sites}): {label}", fontsize=7)
        ax.set_xticks([])
    for ax in list(axes.flat)[len(shown) :]:
        ax.axis("off")
    if not shown:
        axes.flat[0].text(0.5, 0.5, "no motifs found", ha="center", va="center")
    write_png(fig, path, title)
