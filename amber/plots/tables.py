"""Readers for the result files the figures are drawn from, checked where they are read.

- ``evaluate/<model>.tsv``: ``feature, category, auroc, aupr`` (``n_pos`` optional); one row
  per output feature; AUROC/AUPR may be empty/NaN for a feature without positives.
- ``search/searched_<i>/op_probs.tsv``: ``step, layer, <op>...`` (probabilities, rows sum to 1).
- ``search/searched_<i>/op_embeddings.tsv``: ``op, e0..e<d-1>``.
- ``search/searched_<i>/history.csv``: ``step, mean_reward, max_reward, baseline,
  skip_density, ...`` (one row per controller step).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

EVALUATION_COLUMNS = ("feature", "category", "auroc", "aupr")
HISTORY_COLUMNS = ("step", "mean_reward", "max_reward", "baseline", "skip_density")


class ResultTableError(ValueError):
    """A problem in a result table; the message names the file (and line)."""


def replicate_name(path: str | Path) -> str:
    """``results/demo/search/searched_2/history.csv`` -> ``searched_2`` (the folder name)."""
    return Path(path).parent.name


def _read(path: Path, sep: str, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, sep=sep)
    except FileNotFoundError:
        raise ResultTableError(f"{path}: file not found") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise ResultTableError(f"{path}: cannot parse ({exc})") from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ResultTableError(f"{path}:1: missing column(s) {', '.join(missing)}")
    if table.empty:
        raise ResultTableError(f"{path}: no rows")
    return table


def _numeric(table: pd.DataFrame, columns: list[str], path: Path, allow_nan: bool) -> None:
    """Convert columns to float in place; name the first offending line."""
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() & table[column].notna() if allow_nan else values.isna()
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # header is line 1
            value = table[column][bad].iloc[0]
            raise ResultTableError(
                f"{path}:{line}: column {column!r} must be a number, got {value!r}"
            )
        table[column] = values.astype(float)


def read_evaluation(path: str | Path) -> pd.DataFrame:
    """Per-feature test metrics of one model."""
    path = Path(path)
    table = _read(path, "\t", EVALUATION_COLUMNS)
    _numeric(table, ["auroc", "aupr"], path, allow_nan=True)
    table["category"] = table["category"].astype(str)
    return table


def read_op_probs(path: str | Path) -> pd.DataFrame:
    """Op selection probabilities per step and layer; columns ``step, layer, <ops>``."""
    path = Path(path)
    table = _read(path, "\t", ("step", "layer"))
    ops = [c for c in table.columns if c not in ("step", "layer")]
    if not ops:
        raise ResultTableError(f"{path}:1: no op columns after 'step' and 'layer'")
    _numeric(table, ["step", "layer", *ops], path, allow_nan=False)
    table[["step", "layer"]] = table[["step", "layer"]].astype(int)
    return table


def read_op_embeddings(path: str | Path) -> tuple[list[str], np.ndarray]:
    """(op names, embedding matrix (n_ops, dim)) of one controller."""
    path = Path(path)
    table = _read(path, "\t", ("op",))
    dims = [c for c in table.columns if c != "op"]
    if not dims:
        raise ResultTableError(f"{path}:1: no embedding columns after 'op'")
    _numeric(table, dims, path, allow_nan=False)
    ops = table["op"].astype(str).tolist()
    if len(set(ops)) != len(ops):
        raise ResultTableError(f"{path}: duplicate op names in column 'op'")
    return ops, table[dims].to_numpy(dtype=float)


def read_history(path: str | Path) -> pd.DataFrame:
    """Controller history of one search (one row per step)."""
    path = Path(path)
    table = _read(path, ",", HISTORY_COLUMNS)
    _numeric(table, ["step", "skip_density"], path, allow_nan=False)
    # Empty where a step computed no rewards (``search.strategy: random_ws``).
    _numeric(table, ["mean_reward", "max_reward", "baseline"], path, allow_nan=True)
    return table
