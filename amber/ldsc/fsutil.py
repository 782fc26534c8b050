"""Small file helpers of the ldsc stage: atomic output folders, and ldsc's tables read
from text (whitespace-separated, gzip/bz2 by extension) or Parquet and written as text."""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
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


PARQUET_MAGIC = b"PAR1"
# A file set's tables (.l2.ldscore, .annot, .frq) may be text, compressed text or Parquet
# (PolyFun and recent S-LDSC resources ship Parquet); the first that exists is read.
TABLE_EXTENSIONS = (".gz", ".bz2", ".parquet", "")


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """True for a Parquet file, whatever its name (by its leading magic bytes)."""
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        return handle.read(4) == PARQUET_MAGIC
    return False


def read_table(
    path: str | os.PathLike[str],
    dtype: type | dict[str, type] | None = None,
    na_values: list[str] | str | None = None,
    usecols: list[str] | None = None,
) -> pd.DataFrame:
    """An ldsc table: Parquet (by its magic bytes) or whitespace-separated text.

    ``dtype`` (one type, or ``{column: type}``) applies to either format; ``str`` columns
    keep missing values as NaN. ``na_values`` applies to text.
    """
    if not is_parquet(path):
        return pd.read_csv(path, sep=r"\s+", dtype=dtype, na_values=na_values, usecols=usecols)
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ValueError(f"{path}: cannot read this Parquet file ({exc})") from None
    if not isinstance(frame.index, pd.RangeIndex):  # an index pandas wrote: a column again
        frame = frame.reset_index()
    if usecols is not None:
        frame = frame.loc[:, usecols]
    types = dtype if isinstance(dtype, dict) else dict.fromkeys(frame.columns, dtype)
    for name, kind in types.items():
        if kind is None or name not in frame.columns:
            continue
        col = frame[name]
        if kind is str:
            frame[name] = col.astype(str).where(col.notna(), np.nan).astype(object)
        else:
            frame[name] = col.astype(kind)
    return frame


def existing_table(prefix: str, suffix: str) -> Path:
    """The file ``prefix + suffix`` in the first table format that exists."""
    for ext in TABLE_EXTENSIONS:
        path = Path(f"{prefix}{suffix}{ext}")
        if path.exists():
            return path
    raise FileNotFoundError(f"{prefix}{suffix}[{'|'.join(TABLE_EXTENSIONS[:-1])}] not found")


def table_columns(path: str | os.PathLike[str]) -> list[str]:
    """The column names of an ldsc table (text or Parquet) without reading its rows."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
        return [n for n in names if not n.startswith("__index_level_")]
    return list(pd.read_csv(path, sep=r"\s+", nrows=0).columns)


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
