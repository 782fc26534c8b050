"""Variant scoring in shards: one job per block of a VCF's variants, merged afterwards
into exactly the files one job over the whole VCF writes (timing fields aside).

A shard ``i/n`` checks the whole VCF (cheap next to scoring) and scores the ``i``-th of
``n`` contiguous blocks of its scorable variants (whole chunks of ``chunk_size``), so
line numbers, skip reasons and the VCF path stay those of the whole file; every shard
writes the same ``skipped.tsv``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from amber.fileio import atomic_path
from amber.variants.scores import (
    FLOAT_FIELDS,
    INT_FIELDS,
    STRING_FIELDS,
    create_scores,
    read_scores,
)

SUMMED = ("windows_with_unknown_bases", "seconds")  # summary fields added over shards


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``: shard 2 of 4 (1-based)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"--shard must be I/N with 1 <= I <= N, got {text!r}")
    return int(match[1]), int(match[2])


def shard_slice(n_variants: int, shard: tuple[int, int], chunk_size: int) -> slice:
    """The variants shard ``(i, n)`` scores: a contiguous run of whole chunks of
    ``chunk_size``. On chunk boundaries every Selene batch holds the same variants as in
    one unsharded job, and so gives the same bits (a CPU kernel may round differently
    for another batch)."""
    i, n = shard
    chunks = -(-n_variants // chunk_size)
    start, stop = chunks * (i - 1) // n, chunks * i // n
    return slice(start * chunk_size, min(stop * chunk_size, n_variants))


def merge_shards(shard_dirs: Sequence[str | Path], out_dir: str | Path) -> dict:
    """Merge the shards' ``scores.h5``/``skipped.tsv``/``summary.json`` (given in shard
    order) into ``out_dir``; return the merged summary."""
    dirs = [Path(d) for d in shard_dirs]
    if not dirs:
        raise ValueError("no shard folders to merge")
    out_dir = Path(out_dir)
    summaries = [json.loads((d / "summary.json").read_text()) for d in dirs]
    expected = [f"{i}/{len(dirs)}" for i in range(1, len(dirs) + 1)]
    found = [s.get("shard") for s in summaries]
    if found != expected:
        raise ValueError(f"{', '.join(map(str, dirs))}: shards {found}, expected {expected}")

    def shared(summary: dict) -> dict:  # what every shard of one job reports alike
        return {k: v for k, v in summary.items() if k not in ("counts", "shard", *SUMMED)}

    skipped = (dirs[0] / "skipped.tsv").read_bytes()
    for d, s in zip(dirs[1:], summaries[1:], strict=True):
        if shared(s) != shared(summaries[0]) or (d / "skipped.tsv").read_bytes() != skipped:
            raise ValueError(f"{d}: scored another VCF, genome or model than {dirs[0]}")
    parts = [read_scores(d / "scores.h5") for d in dirs]
    with h5py.File(dirs[0] / "scores.h5", "r") as handle:
        attrs = {k: v for k, v in handle.attrs.items() if k != "features"}
    features = [str(f) for f in parts[0]["features"]]
    labels = {
        name: np.concatenate([p[name] for p in parts]) for name in (*STRING_FIELDS, *INT_FIELDS)
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "scores.h5") as tmp, h5py.File(tmp, "w") as handle:
        create_scores(handle, labels, features, attrs)
        if len(labels["pos"]):
            for name in FLOAT_FIELDS:
                handle[name][:] = np.concatenate([p[name] for p in parts])
    with atomic_path(out_dir / "skipped.tsv") as tmp:
        tmp.write_bytes(skipped)
    merged = {k: v for k, v in summaries[0].items() if k != "shard"}
    merged["counts"] = {**summaries[0]["counts"], "scored": len(labels["pos"])}
    for key in SUMMED:
        merged[key] = round(sum(s[key] for s in summaries), 3)
    with atomic_path(out_dir / "summary.json") as tmp:
        tmp.write_text(json.dumps(merged, indent=2) + "\n")
    return merged
