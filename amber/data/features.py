"""The feature table (``features.tsv``): one row per model output, in output order.

Columns: ``name`` (unique; DeepSEA style ``cell_type|target|treatment``), ``cell_type``,
``assay`` (the target: a TF name, ``DNase`` or a histone mark), ``category`` (one of
:data:`CATEGORIES`). Peak files for a feature live at ``<bed_dir>/<bed_stem(name)>.bed``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from amber.fileio import atomic_path

COLUMNS = ("name", "cell_type", "assay", "category")
CATEGORIES = ("TF", "DNase", "Histone", "Pol", "other")


class FeatureTableError(ValueError):
    """A problem in a features.tsv file; the message names the file and line."""


@dataclass(frozen=True)
class Feature:
    name: str
    cell_type: str
    assay: str
    category: str


def bed_stem(name: str) -> str:
    """File-name-safe stem for a feature name (``K562|CTCF|None`` -> ``K562_CTCF_None``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")


def read_features(path: str | Path) -> list[Feature]:
    """Read and validate a feature table; raise :class:`FeatureTableError` on bad rows."""
    path = Path(path)
    with open(path, newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        try:
            header = next(reader)
        except StopIteration:
            raise FeatureTableError(
                f"{path}: empty file, expected header: {' '.join(COLUMNS)}"
            ) from None
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise FeatureTableError(f"{path}:1: missing column(s) {', '.join(missing)}")
        idx = [header.index(c) for c in COLUMNS]
        features: list[Feature] = []
        seen: dict[str, int] = {}
        stems: dict[str, str] = {}
        for lineno, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) < len(header):
                raise FeatureTableError(
                    f"{path}:{lineno}: expected {len(header)} tab-separated fields, got {len(row)}"
                )
            feat = Feature(*(row[i].strip() for i in idx))
            if not feat.name:
                raise FeatureTableError(f"{path}:{lineno}: empty feature name")
            if feat.category not in CATEGORIES:
                raise FeatureTableError(
                    f"{path}:{lineno}: category {feat.category!r} of {feat.name!r} is not one of "
                    f"{', '.join(CATEGORIES)}"
                )
            if feat.name in seen:
                first = seen[feat.name]
                raise FeatureTableError(
                    f"{path}:{lineno}: duplicate feature {feat.name!r} (first on line {first})"
                )
            stem = bed_stem(feat.name)
            if stem in stems:
                raise FeatureTableError(
                    f"{path}:{lineno}: feature {feat.name!r} maps to the same BED file name "
                    f"{stem}.bed as {stems[stem]!r}; rename one of them"
                )
            seen[feat.name] = lineno
            stems[stem] = feat.name
            features.append(feat)
    if not features:
        raise FeatureTableError(f"{path}: no features listed")
    return features


def write_features(features: list[Feature], path: str | Path) -> None:
    """Write a feature table atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(COLUMNS)
        for f in features:
            writer.writerow([f.name, f.cell_type, f.assay, f.category])
