"""Small file helpers of the ldsc stage: atomic output folders and gzipped tables."""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from amber.fileio import atomic_path, current_umask, scratch_dir, temp_beside


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; it replaces ``path`` on success.

    Snakemake ``directory()`` outputs are folders of many files: a step that fails halfway
    must not leave a folder that looks complete.
    """
    final = Path(path)
    tmp = temp_beside(final, directory=True)
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~current_umask())
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _column_text(values: pd.Series, spec: str | None) -> list[str]:
    if pd.api.types.is_float_dtype(values.dtype):
        if spec is None:
            return ["" if v != v else repr(v) for v in values.tolist()]
        return ["" if v != v else format(v, spec) for v in values.tolist()]
    return ["" if v is None or v != v else str(v) for v in values.tolist()]


def write_table(frame: pd.DataFrame, path: str | Path, float_format: str | None = None) -> None:
    """Tab-separated table (gzip when the name ends in .gz), written atomically.

    Formats values in Python (``float_format`` is a %-style spec such as ``%.6g``; NaN is
    written as an empty field) and gzips at level 1: pandas' ``to_csv`` with a float
    format and gzip level 9 took seconds for an LD score file.
    """
    path = Path(path)
    spec = float_format[1:] if float_format else None
    columns = [_column_text(frame[c], spec) for c in frame.columns]
    lines = ["\t".join(map(str, frame.columns))]
    lines += ["\t".join(row) for row in zip(*columns, strict=True)]
    text = "\n".join(lines) + "\n"
    with atomic_path(path) as tmp:
        if path.suffix == ".gz":
            with (
                open(tmp, "wb") as raw,
                # No name or time in the header: identical tables, identical bytes.
                gzip.GzipFile(
                    filename="", fileobj=raw, mode="wb", compresslevel=1, mtime=0
                ) as handle,
            ):
                handle.write(text.encode())
        else:
            tmp.write_text(text)


@contextlib.contextmanager
def staged_files(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder inside ``folder``; on success its files are moved into
    ``folder`` (other files there are left alone), on failure nothing is."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with scratch_dir(folder / "staged") as tmp:
        yield tmp
        for path in sorted(tmp.iterdir()):
            os.replace(path, folder / path.name)
