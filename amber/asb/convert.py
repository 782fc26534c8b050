"""Bring real ASB data into the workflow's table format (see :mod:`amber.asb.table`).

The paper's ASB compendium is the supplementary table of Wagih, Merico, Delong & Frey
(2018, bioRxiv 10.1101/253427). Its column names are taken from the paper authors' own
analysis code (AMBER-Seq ``src/asb/allelic_plot.R`` and ``3_asb/allelic_map.py``, which
read ``Frey-2018-Supp1.gz``): ``chr``, ``pos``, ``ref``, ``alt``, ``tf``, ``ref_reads``,
``alt_reads``, ``total_reads``, ``p_binomial``, ``fdr_binomial``, ``deepsea_col`` (the
DeepSEA feature of the experiment) and the precomputed scores of other methods
``ds_logfc`` (DeepSEA), ``deltasvm``, ``deepbind_max_delta_raw``, ``jaspar_max_delta_raw``
and ``best_meme_max_delta_raw``. Assumptions (not documented by the source): positions
are 1-based on hg19's forward strand, and every score is alt minus ref (the AMBER-Seq
code treats them all like logfc: negative = loss). Rows that are not SNVs or lack reads
are dropped and counted.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd

from amber.asb.table import (
    KEY,
    AsbTableError,
    read_asb_table,
    read_vcf_variants,
    unique_variants,
    write_asb_table,
    write_vcf,
)
from amber.fileio import atomic_path

log = logging.getLogger("amber")

FORMATS = ("amber", "wagih")
# Wagih et al. 2018 column -> our column.
WAGIH_COLUMNS = {
    "chr": "chrom",
    "pos": "pos",
    "ref": "ref",
    "alt": "alt",
    "tf": "tf",
    "ref_reads": "ref_reads",
    "alt_reads": "alt_reads",
}
WAGIH_OPTIONAL = {
    "p_binomial": "pvalue",
    "fdr_binomial": "fdr",
    "deepsea_col": "feature",
}
WAGIH_SCORES = {
    "ds_logfc": "score_deepsea",
    "deltasvm": "score_deltasvm",
    "deepbind_max_delta_raw": "score_deepbind",
    "jaspar_max_delta_raw": "score_jaspar",
    "best_meme_max_delta_raw": "score_meme",
}
_CELL_COLUMNS = ("cell_type", "cell", "cell_line")  # used when present (not in the R code)


def convert_wagih(path: str | Path) -> pd.DataFrame:
    """Read a Wagih et al. ASB table (tab-separated, optionally gzipped) as our table."""
    path = Path(path)
    raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, compression="infer")
    missing = [c for c in WAGIH_COLUMNS if c not in raw.columns]
    if missing:
        raise AsbTableError(
            f"{path}:1: not a Wagih et al. ASB table, missing column(s) {', '.join(missing)} "
            f"(expected {', '.join(WAGIH_COLUMNS)})"
        )
    out = pd.DataFrame({ours: raw[theirs].str.strip() for theirs, ours in WAGIH_COLUMNS.items()})
    for theirs, ours in {**WAGIH_OPTIONAL, **WAGIH_SCORES}.items():
        if theirs in raw.columns:
            out[ours] = raw[theirs].str.strip()
    cell = next((c for c in _CELL_COLUMNS if c in raw.columns), None)
    if cell is not None:
        out["cell_type"] = raw[cell].str.strip()
    elif "feature" in out:
        # DeepSEA feature names are cell|target|treatment: the cell type is the first part.
        out["cell_type"] = out["feature"].str.split("|").str[0].fillna("")
    out["ref"] = out["ref"].str.upper()
    out["alt"] = out["alt"].str.upper()
    snv = out["ref"].str.fullmatch("[ACGT]") & out["alt"].str.fullmatch("[ACGT]")
    reads = out["ref_reads"].str.fullmatch(r"\d+") & out["alt_reads"].str.fullmatch(r"\d+")
    keep = (snv & reads).to_numpy()
    if (~keep).any():
        n_bad = int((~keep).sum())
        log.warning("convert-asb: dropped %d row(s) that are not SNVs or lack reads", n_bad)
    out = out[keep]
    subset = [*KEY, "tf", *(c for c in ("cell_type", "feature") if c in out)]
    dup = out.duplicated(subset=subset).to_numpy()
    if dup.any():
        log.warning("convert-asb: dropped %d duplicated row(s)", int(dup.sum()))
    return out[~dup].reset_index(drop=True)


def convert_table(path: str | Path, out: str | Path, fmt: str = "wagih") -> pd.DataFrame:
    """Convert ``path`` (format ``fmt``) to our ASB table at ``out`` (validated)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown ASB table format {fmt!r}; expected one of {FORMATS}")
    df = convert_wagih(path) if fmt == "wagih" else read_asb_table(path)
    out = Path(out)
    write_asb_table(df, out)
    try:
        return read_asb_table(out)
    except AsbTableError:
        out.unlink(missing_ok=True)  # never leave an invalid table behind
        raise


def import_asb(
    path: str | Path,
    out_dir: str | Path,
    *,
    fmt: str = "amber",
    vcf: str | Path | None = None,
    fasta: str | Path | None = None,
) -> dict:
    """``asb_table.tsv`` and ``asb_variants.vcf`` in ``out_dir`` from a user's ASB table.

    The VCF is the user's (checked to contain every variant of the table) or, without one,
    written from the table. With ``fasta`` every REF is checked against the genome.
    """
    out_dir = Path(out_dir)
    table = convert_table(path, out_dir / "asb_table.tsv", fmt)
    lengths = None
    try:
        if fasta is not None:
            from amber.asb.genome import load_chromosomes
            from amber.asb.table import check_ref_alleles

            genome, lengths = load_chromosomes(fasta, set(table["chrom"]))
            check_ref_alleles(table, genome, out_dir / "asb_table.tsv")
        if vcf is not None:
            have = set(read_vcf_variants(vcf).itertuples(index=False, name=None))
            want = unique_variants(table, contigs=list(lengths) if lengths else None)
            lacking = [k for k in want.itertuples(index=False, name=None) if k not in have]
            if lacking:
                raise AsbTableError(
                    f"{vcf}: {len(lacking)} variant(s) of the ASB table are not in the VCF, "
                    f"e.g. {':'.join(map(str, lacking[0]))}"
                )
            with atomic_path(out_dir / "asb_variants.vcf") as tmp:
                shutil.copyfile(vcf, tmp)
            n_variants = len(have)
        else:
            variants = unique_variants(table, contigs=list(lengths) if lengths else None)
            write_vcf(variants, out_dir / "asb_variants.vcf", lengths)
            n_variants = len(variants)
    except Exception:
        (out_dir / "asb_table.tsv").unlink(missing_ok=True)
        raise
    return {
        "format": fmt,
        "n_rows": int(len(table)),
        "n_variants": int(n_variants),
        "n_tfs": int(table["tf"].nunique()),
    }
