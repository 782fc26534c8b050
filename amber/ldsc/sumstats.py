"""Summary statistics in, ldsc's ``.sumstats.gz`` out: the checks of ldsc's munge step.

Columns are found by name, case-insensitively, among common spellings (:data:`SYNONYMS`):
SNP, A1 (the allele Z refers to), A2, and Z, or BETA with SE (Z = BETA / SE), or P with
the sign of BETA (or of log(OR)); N from a column or given. A file without one of these
is an error that names the file and what is missing.

Rows are then dropped and counted, in ldsc's order: a missing value; an SNP not in the
reference list; INFO < 0.9 or MAF <= 0.01 when those columns exist; alleles that are not a
strand-unambiguous SNP; P outside (0, 1]; a
repeated SNP ID (the first row is kept); N below 90th percentile / 1.5; alleles that do
not match the reference SNP's (allowing a strand flip and/or A1/A2 swap). Z is turned to
the reference's A1 when the alleles are swapped. All SNPs dropped is an error.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from amber.ldsc import fsutil
from amber.ldsc.fsutil import write_table

log = logging.getLogger("amber")

COMPLEMENT = {"A": "T", "T": "A", "C": "G", "G": "C"}
SYNONYMS = {
    "SNP": ("SNP", "RSID", "RS", "RS_ID", "MARKERNAME", "MARKER", "SNPID", "VARIANT_ID", "ID"),
    "A1": ("A1", "ALLELE1", "EFFECT_ALLELE", "EA", "INC_ALLELE", "ALT", "REF_ALLELE_EFFECT"),
    "A2": (
        "A2",
        "ALLELE0",
        "ALLELE2",
        "OTHER_ALLELE",
        "NEA",
        "NON_EFFECT_ALLELE",
        "DEC_ALLELE",
        "REF",
    ),
    "Z": ("Z", "ZSCORE", "Z_SCORE", "ZSTAT", "Z_STAT"),
    "BETA": ("BETA", "B", "EFFECT", "LOG_ODDS"),
    "OR": ("OR", "ODDS_RATIO"),
    "SE": ("SE", "STDERR", "STANDARD_ERROR", "SEBETA", "SE_BETA"),
    "P": ("P", "PVAL", "P_VALUE", "PVALUE", "P_BOLT_LMM", "P_BOLT_LMM_INF"),
    "N": ("N", "NMISS", "N_COMPLETE", "NEFF", "N_EFF", "TOTALSAMPLESIZE"),
    "INFO": ("INFO", "IMPINFO", "INFO_SCORE"),
    "FRQ": ("FRQ", "MAF", "A1FREQ", "EAF", "FREQ", "FREQ1", "FRQ_U"),
}
INFO_MIN = 0.9  # ldsc munge's --info-min
MAF_MIN = 0.01  # ldsc munge's --maf-min
DROP_REASONS = (
    "missing_value",
    "not_in_reference",
    "not_snp_or_ambiguous",
    "bad_p",
    "non_finite",  # Z or N infinite or undefined (e.g. SE = 0)
    "duplicated_snp",
    "low_n",
    "allele_mismatch",
)


class SumstatsError(ValueError):
    """Unusable summary statistics; the message names the file."""


def _valid_pairs() -> set[str]:
    return {a + b for a, b in itertools.permutations("ACGT", 2) if COMPLEMENT[a] != b}


def _flip_state(a1: str, a2: str, r1: str, r2: str) -> int:
    """1: same alleles, -1: A1/A2 swapped, 0: no match (strand flips allowed)."""
    same = (a1 == r1 and a2 == r2) or (a1 == COMPLEMENT[r1] and a2 == COMPLEMENT[r2])
    if same:
        return 1
    swapped = (a1 == r2 and a2 == r1) or (a1 == COMPLEMENT[r2] and a2 == COMPLEMENT[r1])
    return -1 if swapped else 0


def find_columns(header: list[str]) -> dict[str, str]:
    upper = {h.upper(): h for h in header}
    found = {}
    for key, names in SYNONYMS.items():
        for name in names:
            if name in upper:
                found[key] = upper[name]
                break
    return found


def munge(
    table: pd.DataFrame,
    *,
    source: str = "<table>",
    n: float | None = None,
    reference: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """(SNP, A1, A2, Z, N) and drop counts (:data:`DROP_REASONS`) of a raw table.

    ``reference``: SNP, A1, A2 of the reference SNPs (e.g. the panel's .bim or HapMap3's
    w_hm3.snplist); SNPs outside it are dropped and alleles are checked against it.
    """
    cols = find_columns(list(table.columns))
    missing = [k for k in ("SNP", "A1", "A2") if k not in cols]
    has_z = (
        "Z" in cols
        or ("BETA" in cols and "SE" in cols)
        or ("P" in cols and ("BETA" in cols or "OR" in cols))
    )
    if not has_z:
        missing.append("Z (or BETA and SE, or P and BETA/OR)")
    if "N" not in cols and n is None:
        missing.append("N (a column, or give the sample size)")
    if missing:
        raise SumstatsError(
            f"{source}: missing column(s) {'; '.join(missing)} "
            f"(header: {' '.join(map(str, table.columns))})"
        )
    counts = dict.fromkeys(DROP_REASONS, 0)
    total = len(table)
    used = [c for k, c in cols.items() if k != "INFO"]  # ldsc keeps rows without INFO
    before = len(table)
    table = table.dropna(subset=used).reset_index(drop=True)
    counts["missing_value"] = before - len(table)

    out = pd.DataFrame({"SNP": table[cols["SNP"]].astype(str)})
    out["A1"] = table[cols["A1"]].astype(str).str.upper()
    out["A2"] = table[cols["A2"]].astype(str).str.upper()
    p = None
    try:
        if "Z" in cols:
            out["Z"] = pd.to_numeric(table[cols["Z"]], errors="raise").astype(float)
        elif "BETA" in cols and "SE" in cols:
            out["Z"] = (
                pd.to_numeric(table[cols["BETA"]], errors="raise")
                / pd.to_numeric(table[cols["SE"]], errors="raise")
            ).astype(float)
        else:
            p = pd.to_numeric(table[cols["P"]], errors="raise").astype(float)
            sign_source = (
                table[cols["BETA"]]
                if "BETA" in cols
                else np.log(pd.to_numeric(table[cols["OR"]], errors="raise"))
            )
            sign = np.sign(pd.to_numeric(sign_source, errors="raise").astype(float))
            out["Z"] = sign * np.sqrt(stats.chi2.isf(p.clip(lower=1e-300, upper=1.0), 1))
        out["N"] = (
            pd.to_numeric(table[cols["N"]], errors="raise").astype(float)
            if "N" in cols
            else float(n)
        )
    except (ValueError, TypeError) as exc:
        raise SumstatsError(f"{source}: a Z/BETA/SE/P/N column is not numeric ({exc})") from None

    keep = np.ones(len(out), dtype=bool)
    if reference is not None:
        in_ref = out["SNP"].isin(set(reference["SNP"].astype(str)))
        counts["not_in_reference"] = int((~in_ref).sum())
        keep &= in_ref.to_numpy()
    for key, reason in (("INFO", "low_info"), ("FRQ", "low_maf")):
        if key not in cols:
            continue
        values = pd.to_numeric(table[cols[key]], errors="coerce").to_numpy(dtype=float)
        if key == "INFO":
            good = values >= INFO_MIN
        else:
            good = (values >= 0) & (values <= 1) & (np.minimum(values, 1 - values) > MAF_MIN)
        counts[reason] = int((keep & ~good).sum())
        keep &= good
    pairs = (out["A1"] + out["A2"]).isin(_valid_pairs()).to_numpy()
    counts["not_snp_or_ambiguous"] = int((keep & ~pairs).sum())
    keep &= pairs
    if p is not None:
        bad = ~((p > 0) & (p <= 1)).to_numpy()
        counts["bad_p"] = int((keep & bad).sum())
        keep &= ~bad
    finite = (np.isfinite(out["Z"]) & np.isfinite(out["N"])).to_numpy()
    counts["non_finite"] = int((keep & ~finite).sum())
    keep &= finite
    out = out.loc[keep].reset_index(drop=True)
    before = len(out)
    out = out.drop_duplicates(subset="SNP").reset_index(drop=True)
    counts["duplicated_snp"] = before - len(out)
    if len(out):
        n_min = out["N"].quantile(0.9) / 1.5
        low = out["N"] < n_min
        counts["low_n"] = int(low.sum())
        out = out.loc[~low].reset_index(drop=True)
    if reference is not None and len(out):
        ref = reference.assign(SNP=reference["SNP"].astype(str)).drop_duplicates("SNP")
        ref = ref.set_index("SNP")
        ref_a1 = ref.loc[out["SNP"], "A1"].astype(str).str.upper().to_numpy()
        ref_a2 = ref.loc[out["SNP"], "A2"].astype(str).str.upper().to_numpy()
        state = np.array(
            [
                _flip_state(a1, a2, r1, r2) if r1 in COMPLEMENT and r2 in COMPLEMENT else 0
                for a1, a2, r1, r2 in zip(out["A1"], out["A2"], ref_a1, ref_a2, strict=True)
            ]
        )
        counts["allele_mismatch"] = int((state == 0).sum())
        swapped = state == -1
        out.loc[swapped, "Z"] = -out.loc[swapped, "Z"]
        out.loc[swapped, "A1"] = ref_a1[swapped]
        out.loc[swapped, "A2"] = ref_a2[swapped]
        out = out.loc[state != 0].reset_index(drop=True)
        counts["a1_swapped"] = int(swapped.sum())
    counts["read"] = total
    counts["kept"] = int(len(out))
    if out.empty:
        detail = ", ".join(f"{k}={v}" for k, v in counts.items() if v)
        raise SumstatsError(f"{source}: no SNP left after the checks ({detail})")
    return out[["SNP", "A1", "A2", "Z", "N"]], counts


def read_table(path: str | Path) -> pd.DataFrame:
    """Summary statistics as a text table (whitespace-separated, optionally gzipped) or a
    Parquet file; all columns as strings."""
    try:
        return fsutil.read_table(path, dtype=str, na_values=[".", "NA"])
    except FileNotFoundError:
        raise SumstatsError(f"{path}: file not found") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SumstatsError(f"{path}: cannot parse ({exc})") from None
    except ValueError as exc:
        raise SumstatsError(str(exc)) from None


def munge_file(
    path: str | Path,
    out: str | Path,
    *,
    n: float | None = None,
    reference: pd.DataFrame | None = None,
) -> dict[str, int]:
    raw = read_table(path)
    table, counts = munge(raw, source=str(path), n=n, reference=reference)
    write_table(table, out, float_format="%.6g")
    dropped = {k: v for k, v in counts.items() if k in DROP_REASONS and v}
    log.info(
        "%s: kept %d of %d SNPs; dropped %s",
        path,
        counts["kept"],
        counts["read"],
        dropped or "none",
    )
    return counts
