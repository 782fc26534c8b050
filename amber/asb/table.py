"""The ASB table (``asb_table.tsv``) and the VCF of its variants (``asb_variants.vcf``).

ASB table: tab-separated, one row per (variant, TF) measurement, header required.

Required columns
    ``chrom``, ``pos`` (1-based), ``ref``, ``alt`` (single bases A/C/G/T), ``tf`` (the
    ChIP-seq target, matched case-insensitively to the ``assay`` column of features.tsv),
    ``ref_reads``, ``alt_reads`` (ChIP-seq reads carrying each allele, integers >= 0).
Optional columns
    ``cell_type`` (cell type of the ChIP-seq experiment; used to pick the model feature),
    ``feature`` (exact model feature name to use, e.g. a DeepSEA column),
    ``pvalue``/``fdr`` (binomial test and its Benjamini-Hochberg FDR when computed upstream;
    otherwise computed from the reads), ``score_<method>`` (precomputed variant scores of
    other methods, positive = the alt allele binds more), and anything else (e.g. the truth
    columns of a simulated table), which is passed through and ignored.

VCF: VCF 4.2, the unique (chrom, pos, ref, alt) of the table, ID ``chrom:pos:ref:alt``,
sorted by contig (FASTA order when known) and position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from amber.fileio import atomic_path

REQUIRED = ("chrom", "pos", "ref", "alt", "tf", "ref_reads", "alt_reads")
OPTIONAL_TEXT = ("cell_type", "feature")
OPTIONAL_FLOAT = ("pvalue", "fdr")
SCORE_PREFIX = "score_"
KEY = ["chrom", "pos", "ref", "alt"]
_BASE = re.compile(r"^[ACGT]$")


class AsbTableError(ValueError):
    """A problem in an ASB table; the message names the file and line."""


def _line_of(index: int) -> int:
    return int(index) + 2  # header is line 1


def read_asb_table(path: str | Path) -> pd.DataFrame:
    """Read and validate an ASB table (see the module docstring for the columns).

    Returns a frame with the required columns typed (``pos``/reads int64, bases upper
    case), ``cell_type`` and ``feature`` as strings ("" when absent) and the rest as read.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment=None)
    except pd.errors.EmptyDataError:
        raise AsbTableError(f"{path}: empty file, expected header: {' '.join(REQUIRED)}") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise AsbTableError(
            f"{path}:1: missing column(s) {', '.join(missing)} (required: {' '.join(REQUIRED)})"
        )
    if df.empty:
        raise AsbTableError(f"{path}: no rows")
    for col in ("chrom", "tf"):
        df[col] = df[col].str.strip()
        empty = np.flatnonzero(df[col].to_numpy() == "")
        if len(empty):
            raise AsbTableError(f"{path}:{_line_of(empty[0])}: empty {col}")
    for col in ("ref", "alt"):
        df[col] = df[col].str.strip().str.upper()
        bad = np.flatnonzero(~df[col].str.match(_BASE).to_numpy())
        if len(bad):
            value = df[col].iloc[bad[0]]
            raise AsbTableError(
                f"{path}:{_line_of(bad[0])}: {col} {value!r} is not a single base A/C/G/T "
                "(only SNVs are supported)"
            )
    same = np.flatnonzero((df["ref"] == df["alt"]).to_numpy())
    if len(same):
        raise AsbTableError(f"{path}:{_line_of(same[0])}: ref and alt are the same base")
    for col, minimum in (("pos", 1), ("ref_reads", 0), ("alt_reads", 0)):
        values = pd.to_numeric(df[col].str.strip(), errors="coerce")
        bad = np.flatnonzero(
            values.isna().to_numpy()
            | (values.fillna(minimum) < minimum).to_numpy()
            | (values.fillna(0) % 1 != 0).to_numpy()
        )
        if len(bad):
            raise AsbTableError(
                f"{path}:{_line_of(bad[0])}: {col} {df[col].iloc[bad[0]]!r} is not an integer "
                f">= {minimum}"
            )
        df[col] = values.astype(np.int64)
    for col in OPTIONAL_TEXT:
        df[col] = df[col].str.strip() if col in df.columns else ""
    float_cols = [*OPTIONAL_FLOAT, *(c for c in df.columns if c.startswith(SCORE_PREFIX))]
    for col in float_cols:
        if col not in df.columns:
            continue
        text = df[col].str.strip()
        values = pd.to_numeric(
            text.replace({"": "nan", "NA": "nan", "NaN": "nan"}), errors="coerce"
        )
        bad = np.flatnonzero(values.isna().to_numpy() & ~text.isin(["", "NA", "NaN", "nan"]))
        if len(bad):
            raise AsbTableError(
                f"{path}:{_line_of(bad[0])}: {col} {df[col].iloc[bad[0]]!r} is not a number"
            )
        df[col] = values.astype(float)
    known = {*REQUIRED, *OPTIONAL_TEXT, *float_cols}
    for col in df.columns:
        if col not in known:  # pass-through columns (e.g. truth): numbers when they all are
            try:
                df[col] = pd.to_numeric(df[col])
            except (ValueError, TypeError):
                pass
    dup = df.duplicated(subset=[*KEY, "tf", "cell_type", "feature"], keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise AsbTableError(
            f"{path}:{_line_of(i)}: duplicate measurement of {df['chrom'].iloc[i]}:"
            f"{df['pos'].iloc[i]} {df['ref'].iloc[i]}>{df['alt'].iloc[i]} for TF "
            f"{df['tf'].iloc[i]} (same cell_type/feature)"
        )
    return df.reset_index(drop=True)


def write_asb_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write an ASB table atomically (floats with 6 significant digits)."""
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"ASB table for {path} lacks column(s) {', '.join(missing)}")
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def score_columns(df: pd.DataFrame) -> list[str]:
    """The ``score_<method>`` columns of a table, in table order."""
    return [c for c in df.columns if c.startswith(SCORE_PREFIX)]


def _natural_key(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def unique_variants(df: pd.DataFrame, contigs: Sequence[str] | None = None) -> pd.DataFrame:
    """Unique (chrom, pos, ref, alt) sorted by contig order (``contigs`` when given, else
    natural order: chr2 before chr10) and position."""
    uniq = df[KEY].drop_duplicates().copy()
    order = (
        {c: i for i, c in enumerate(contigs)}
        if contigs is not None
        else {c: i for i, c in enumerate(sorted(uniq["chrom"].unique(), key=_natural_key))}
    )
    unknown = sorted(set(uniq["chrom"]) - set(order))
    if unknown:
        raise ValueError(f"chromosome(s) {', '.join(unknown[:5])} are not in the genome FASTA")
    uniq["_rank"] = uniq["chrom"].map(order)
    uniq = uniq.sort_values(["_rank", "pos", "ref", "alt"], kind="mergesort")
    return uniq.drop(columns="_rank").reset_index(drop=True)


def check_ref_alleles(
    df: pd.DataFrame, genome: Mapping[str, np.ndarray], source: str | Path
) -> None:
    """Raise :class:`AsbTableError` when a REF differs from the genome (codes 0-3 = ACGT)."""
    bases = np.frombuffer(b"ACGTN", dtype=np.uint8)
    for i, (chrom, pos, ref) in enumerate(zip(df["chrom"], df["pos"], df["ref"], strict=True)):
        codes = genome.get(chrom)
        if codes is None:
            raise AsbTableError(f"{source}:{_line_of(i)}: chromosome {chrom!r} is not in the FASTA")
        if pos > len(codes):
            raise AsbTableError(
                f"{source}:{_line_of(i)}: position {pos} is beyond the end of {chrom} "
                f"({len(codes)} bp)"
            )
        base = chr(bases[codes[pos - 1]])
        if base != ref:
            raise AsbTableError(
                f"{source}:{_line_of(i)}: ref {ref} at {chrom}:{pos} does not match the genome "
                f"({base}); are positions 1-based and on the forward strand?"
            )


def write_vcf(
    variants: pd.DataFrame, path: str | Path, contig_lengths: Mapping[str, int] | None = None
) -> None:
    """Write unique, sorted variants (see :func:`unique_variants`) as VCF 4.2, atomically."""
    lines = ["##fileformat=VCFv4.2", "##source=amber asb"]
    if contig_lengths:
        lines += [f"##contig=<ID={c},length={n}>" for c, n in contig_lengths.items()]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for chrom, pos, ref, alt in variants[KEY].itertuples(index=False):
        lines.append(f"{chrom}\t{pos}\t{chrom}:{pos}:{ref}:{alt}\t{ref}\t{alt}\t.\t.\t.")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def read_vcf_variants(path: str | Path) -> pd.DataFrame:
    """(chrom, pos, ref, alt) of the SNV records of a plain-text VCF (multi-allelic ALTs are
    split); other records are skipped."""
    rows = []
    with open(path) as handle:
        for lineno, line in enumerate(handle, start=1):
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 5:
                raise AsbTableError(f"{path}:{lineno}: expected >= 5 tab-separated VCF columns")
            try:
                pos = int(fields[1])
            except ValueError:
                raise AsbTableError(
                    f"{path}:{lineno}: POS {fields[1]!r} is not an integer"
                ) from None
            ref = fields[3].upper()
            for alt in fields[4].upper().split(","):
                if _BASE.match(ref) and _BASE.match(alt):
                    rows.append((fields[0], pos, ref, alt))
    return pd.DataFrame(rows, columns=KEY).astype({"pos": np.int64})
