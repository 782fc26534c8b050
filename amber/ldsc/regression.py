"""Stratified LD score regression (S-LDSC; Finucane et al. 2015), as ldsc estimates it.

Model: ``E[chi2_j] = N_j * sum_c tau_c * l(j, c) + N_j * a + 1``. Estimation follows ldsc's
``--h2`` with several annotations (``--overlap-annot``), step by step, so that the numbers
agree with ldsc to rounding (tests/test_ldsc_reference.py):

1. Summary statistics, reference LD scores (one or more file sets, joined side by side;
   their SNP columns must be identical) and regression weights are joined on SNP, in the
   LD score files' (CHR, BP) order. LD score columns with zero variance are dropped.
2. SNPs with ``chi2 >= max(0.001 * max(N), 80)`` are removed (ldsc's default for
   partitioned h2).
3. Weights: ``1 / (2 (1 + N h2 l / M)^2) / max(w_ld, 1)`` from the aggregate h2 estimate
   ``M (mean chi2 - 1) / mean(N l)`` (clipped to [0, 1]) with ``l`` the row sum of the LD
   scores (at least 1) and ``M`` the total of the ``M_5_50`` counts; the square roots of
   these weights, scaled to sum to 1, multiply both sides ("old weights": no re-weighting).
4. Least squares on ``[N l / mean(N), 1]`` with a block jackknife over ``n_blocks``
   contiguous blocks of SNPs (``floor(linspace(0, n, n_blocks + 1))``): delete-one-block
   estimates, pseudovalues ``B est - (B - 1) delete``, covariance ``cov(pseudo) / B``.
5. ``tau = est / mean(N)``; per-annotation h2 ``M_c tau_c``; total h2 their sum; the
   proportion of h2 by a ratio jackknife; for overlapping annotations the h2 of the SNPs in
   annotation c is ``sum_d O(c, d) / M_d * h2_d``, ``O`` the annotation cross-product over
   the SNPs with 0.05 < MAF < 0.95; enrichment = that proportion / the proportion of SNPs;
   its p-value tests that per-SNP h2 differs inside and outside the annotation (two-sided
   t with ``n_blocks`` degrees of freedom), as ldsc's ``Enrichment_p``.

Beyond ldsc: tau* (Gazal et al. 2017), ``tau_c * M * sd_c / h2``, with ``sd_c`` the
annotation's standard deviation over those common SNPs; its standard error treats h2 as
fixed. The coefficient p-value is two-sided from the z-score.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from amber.ldsc.fsutil import TABLE_EXTENSIONS, existing_table, read_table
from amber.ldsc.plink import chromosome_prefixes

NULL_INTERCEPT = 1.0


# ----------------------------------------------------------------------------- file reading


def _read_ws(path: Path, **kwargs) -> pd.DataFrame:
    return read_table(path, na_values=".", **kwargs)


def file_set(prefix: str, suffix: str) -> dict[int, str]:
    """Chromosome code -> prefix of a file set (``.l2.ldscore``, ``.annot``) in any of the
    table formats."""
    return chromosome_prefixes(prefix, tuple(suffix + ext for ext in TABLE_EXTENSIONS))


def _chroms(prefix: str) -> dict[int, str]:
    return file_set(prefix, ".l2.ldscore")


def read_ldscores(prefix: str) -> pd.DataFrame:
    """LD scores of all chromosomes of ``prefix`` (``@`` = chromosome code, or appended),
    sorted by (CHR, BP), SNP duplicates dropped; columns SNP and the LD score columns."""
    parts = []
    for chrom_prefix in _chroms(prefix).values():
        path = existing_table(chrom_prefix, ".l2.ldscore")
        frame = _read_ws(path, dtype={"SNP": str})
        missing = [c for c in ("CHR", "SNP", "BP") if c not in frame.columns]
        if missing:
            raise ValueError(f"{path}:1: missing column(s) {', '.join(missing)}")
        frame = frame.drop(columns=[c for c in ("MAF", "CM") if c in frame.columns])
        parts.append(frame)
    table = pd.concat(parts, ignore_index=True)
    table = table.sort_values(by=["CHR", "BP"], kind="quicksort")
    return table.drop(columns=["CHR", "BP"]).drop_duplicates(subset="SNP")


def read_m(prefix: str, common: bool = True) -> np.ndarray:
    """Annotation SNP counts summed over chromosomes (``.l2.M_5_50``, or ``.l2.M``)."""
    suffix = ".l2.M_5_50" if common else ".l2.M"
    rows = []
    for chrom_prefix in _chroms(prefix).values():
        path = Path(f"{chrom_prefix}{suffix}")
        if not path.exists():
            hint = " (LD scores with only .l2.M: give --not-M-5-50)" if common else ""
            raise FileNotFoundError(f"{path} not found{hint}")
        rows.append([float(v) for v in path.read_text().split()])
    return np.sum(rows, axis=0)


def read_overlap(
    annot_prefixes: list[str], frq_prefix: str | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """(cross-product ``A'A``, column sums, number of SNPs) of the annotations of all
    prefixes (side by side), over SNPs with 0.05 < MAF < 0.95 in ``frq_prefix`` files (all
    SNPs without one). Annotation and frequency files are matched row by row, as in ldsc."""
    first = file_set(annot_prefixes[0], ".annot")
    overlap = None
    sums = None
    total = 0
    for code in first:
        blocks = []
        keep = None
        if frq_prefix is not None:
            frq_path = existing_table(file_set(frq_prefix, ".frq")[code], ".frq")
            frq = _read_ws(frq_path)
            frq = frq.rename(columns={"MAF": "FRQ"})
            keep = ((frq["FRQ"] > 0.05) & (frq["FRQ"] < 0.95)).to_numpy()
        for prefix in annot_prefixes:
            path = existing_table(file_set(prefix, ".annot")[code], ".annot")
            frame = _read_ws(path).drop(columns=["SNP", "CHR", "BP", "CM"], errors="ignore")
            matrix = frame.to_numpy(dtype=float)
            if keep is not None:
                if len(keep) != len(matrix):
                    raise ValueError(
                        f"{path}: {len(matrix)} rows but the frequency file has {len(keep)}"
                    )
                matrix = matrix[keep]
            blocks.append(matrix)
        a = np.hstack(blocks)
        overlap = a.T @ a if overlap is None else overlap + a.T @ a
        sums = a.sum(axis=0) if sums is None else sums + a.sum(axis=0)
        total += len(a)
    return overlap, sums, total


def read_sumstats(path: str | Path) -> pd.DataFrame:
    """SNP, Z, N of an ldsc ``.sumstats[.gz]`` file; rows with a missing value dropped,
    duplicated SNPs after the first dropped."""
    path = Path(path)
    try:
        table = _read_ws(
            path, usecols=["SNP", "Z", "N"], dtype={"SNP": str, "Z": float, "N": float}
        )
    except ValueError as exc:
        raise ValueError(f"{path}: not an ldsc sumstats file (SNP, Z, N): {exc}") from None
    return table.dropna(how="any").drop_duplicates(subset="SNP")


def _merge(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    if (
        len(left) == len(right)
        and (left.index == right.index).all()
        and (left["SNP"].to_numpy() == right["SNP"].to_numpy()).all()
    ):
        return pd.concat(
            [left.reset_index(drop=True), right.reset_index(drop=True).drop(columns="SNP")],
            axis=1,
        )
    return pd.merge(left, right, how="inner", on="SNP")


@dataclass
class RegressionData:
    """Merged inputs of one regression (SNPs in LD-score file order)."""

    snps: np.ndarray
    chisq: np.ndarray  # (n,)
    ref_ld: np.ndarray  # (n, k)
    w_ld: np.ndarray  # (n,)
    n: np.ndarray  # (n,)
    m: np.ndarray  # (k,)
    names: list[str]  # LD score columns (ldsc's names, with _<i> per file set)
    dropped: list[str]  # zero-variance LD score columns removed
    n_blocks: int  # min(number of merged SNPs, requested blocks), before the chi2 filter
    removed_chisq: int


@dataclass
class LdInputs:
    """LD scores of the regression (file sets side by side), their M counts and the
    regression weights, as read once for any number of traits."""

    table: pd.DataFrame  # SNP + kept LD score columns
    m: np.ndarray
    names: list[str]  # kept LD score columns
    dropped: list[str]  # zero-variance columns
    weights: pd.DataFrame  # SNP, LD_weights


def read_ld_inputs(ref_ld: list[str], w_ld: str, common: bool = True) -> LdInputs:
    """Step 1 of ldsc's --h2 without the summary statistics (see the module doc)."""
    sets = []
    for i, prefix in enumerate(ref_ld):
        table = read_ldscores(prefix)
        if sets and not (
            len(table) == len(sets[0])
            and (table["SNP"].to_numpy() == sets[0]["SNP"].to_numpy()).all()
        ):
            raise ValueError(
                f"LD scores of {prefix} cover other SNPs than those of {ref_ld[0]}; "
                "file sets regressed together need identical SNP columns"
            )
        table = table.rename(columns={c: f"{c}_{i}" for c in table.columns if c != "SNP"})
        if sets:
            table = table.drop(columns="SNP")
        sets.append(table)
    ld_table = pd.concat(sets, axis=1)
    m = np.concatenate([read_m(p, common) for p in ref_ld])
    names = [c for c in ld_table.columns if c != "SNP"]
    if len(m) != len(names):
        raise ValueError(f"{len(names)} LD score columns but {len(m)} annotation counts (.M files)")
    variance = ld_table[names].var()
    zero = [c for c in names if variance[c] == 0]
    if len(zero) == len(names):
        raise ValueError("all LD scores have zero variance")
    keep = [i for i, c in enumerate(names) if c not in zero]
    weights = read_ldscores(w_ld)
    if len(weights.columns) != 2:
        raise ValueError(f"{w_ld}: weight LD scores must have exactly one LD score column")
    weights.columns = ["SNP", "LD_weights"]
    kept = [names[i] for i in keep]
    return LdInputs(ld_table[["SNP", *kept]], m[keep], kept, zero, weights)


def merge_inputs(
    sumstats: str | Path | pd.DataFrame,
    ld: LdInputs,
    *,
    n_blocks: int = 200,
    chisq_max: float | None = None,
) -> RegressionData:
    """Steps 1-2 of ldsc's --h2 for one trait: join on SNP, then the chi2 filter."""
    stats_table = sumstats if isinstance(sumstats, pd.DataFrame) else read_sumstats(sumstats)
    merged = _merge(ld.table, stats_table)
    if merged.empty:
        raise ValueError("no SNP in common between the summary statistics and the LD scores")
    merged = _merge(merged, ld.weights)
    if merged.empty:
        raise ValueError("no SNP in common with the regression weights")
    blocks = min(len(merged), n_blocks)
    if chisq_max is None:
        chisq_max = max(0.001 * merged["N"].max(), 80.0)
    chisq = merged["Z"].to_numpy(dtype=float) ** 2
    ok = chisq < chisq_max
    merged = merged.loc[ok]
    if len(merged) < len(ld.names) + 1:
        raise ValueError(f"only {len(merged)} SNPs left for {len(ld.names)} LD score columns")
    return RegressionData(
        snps=merged["SNP"].to_numpy(),
        chisq=chisq[ok],
        ref_ld=merged[ld.names].to_numpy(dtype=float),
        w_ld=merged["LD_weights"].to_numpy(dtype=float),
        n=merged["N"].to_numpy(dtype=float),
        m=ld.m.copy(),
        names=list(ld.names),
        dropped=list(ld.dropped),
        n_blocks=blocks,
        removed_chisq=int((~ok).sum()),
    )


def load_regression_data(
    sumstats: str | Path | pd.DataFrame,
    ref_ld: list[str],
    w_ld: str,
    *,
    n_blocks: int = 200,
    chisq_max: float | None = None,
    common: bool = True,
) -> RegressionData:
    """Read and join the inputs of :func:`fit_partitioned` as ldsc's ``--h2`` does."""
    return merge_inputs(
        sumstats, read_ld_inputs(ref_ld, w_ld, common), n_blocks=n_blocks, chisq_max=chisq_max
    )


# ----------------------------------------------------------------------------- estimation


def regression_weights(
    ld: np.ndarray, w_ld: np.ndarray, n: np.ndarray, m: float, h2: float, intercept: float
) -> np.ndarray:
    """ldsc's heteroscedasticity x overcounting weights (variance scale, not yet rooted)."""
    h2 = min(max(h2, 0.0), 1.0)
    ld = np.fmax(ld, 1.0)
    w_ld = np.fmax(w_ld, 1.0)
    c = h2 * n / m
    return 1.0 / (2 * np.square(intercept + c * ld)) / w_ld


def separators(n: int, n_blocks: int) -> np.ndarray:
    return np.floor(np.linspace(0, n, n_blocks + 1)).astype(int)


@dataclass
class Jackknife:
    est: np.ndarray  # (p,)
    delete_values: np.ndarray  # (blocks, p)
    cov: np.ndarray  # (p, p)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))


def _pseudo_cov(pseudo: np.ndarray) -> np.ndarray:
    blocks = pseudo.shape[0]
    return np.atleast_2d(np.cov(pseudo.T, ddof=1) / blocks)


def lstsq_jackknife(x: np.ndarray, y: np.ndarray, n_blocks: int) -> Jackknife:
    """Least squares of y on x with a delete-one-block jackknife (ldsc's fast version)."""
    n, p = x.shape
    if p > n:
        raise ValueError(f"{p} predictors for {n} SNPs")
    if n_blocks > n:
        raise ValueError(f"{n_blocks} jackknife blocks for {n} SNPs")
    s = separators(n, n_blocks)
    xtx_blocks = np.stack([x[s[i] : s[i + 1]].T @ x[s[i] : s[i + 1]] for i in range(n_blocks)])
    xty_blocks = np.stack([x[s[i] : s[i + 1]].T @ y[s[i] : s[i + 1]] for i in range(n_blocks)])
    xtx = xtx_blocks.sum(axis=0)
    xty = xty_blocks.sum(axis=0)
    est = np.linalg.solve(xtx, xty)
    delete = np.linalg.solve(xtx - xtx_blocks, (xty - xty_blocks)[..., None])[..., 0]
    pseudo = n_blocks * est - (n_blocks - 1) * delete
    return Jackknife(est=est, delete_values=delete, cov=_pseudo_cov(pseudo))


@dataclass
class PartitionedFit:
    """One S-LDSC fit. Arrays are per LD score column, in ``names`` order."""

    names: list[str]
    m: np.ndarray
    coef: np.ndarray
    coef_cov: np.ndarray
    coef_se: np.ndarray
    cat: np.ndarray
    cat_se: np.ndarray
    h2: float
    h2_se: float
    prop: np.ndarray
    prop_cov: np.ndarray
    enrichment: np.ndarray  # (h2_c / M_c) / (h2 / M), ldsc's non-overlap enrichment
    intercept: float
    intercept_se: float
    mean_chisq: float
    lambda_gc: float
    ratio: float
    ratio_se: float
    n_snps: int
    n_blocks: int


def fit_partitioned(data: RegressionData) -> PartitionedFit:
    """The regression of :mod:`amber.ldsc.regression`'s steps 3-5 (free intercept)."""
    y = data.chisq.reshape(-1, 1)
    x = data.ref_ld
    n_snp, k = x.shape
    if k < 2:
        raise ValueError(
            "partitioned regression needs at least 2 LD score columns (e.g. base + yours)"
        )
    n = data.n.reshape(-1, 1)
    m = data.m.reshape(1, -1)
    m_tot = float(m.sum())
    x_tot = x.sum(axis=1, keepdims=True)
    h2_agg = m_tot * (float(np.mean(y)) - NULL_INTERCEPT) / float(np.mean(x_tot * n))
    w = regression_weights(x_tot, data.w_ld.reshape(-1, 1), n, m_tot, h2_agg, NULL_INTERCEPT)
    n_bar = float(np.mean(n))
    design = np.hstack([n * x / n_bar, np.ones((n_snp, 1))])
    root = np.sqrt(w)
    root = root / root.sum()
    jk = lstsq_jackknife(design * root, (y * root).ravel(), data.n_blocks)

    coef = jk.est[:k] / n_bar
    coef_cov = jk.cov[:k, :k] / n_bar**2
    coef_se = np.sqrt(np.diag(coef_cov))
    cat = m.ravel() * coef
    cat_cov = (m.T @ m) * coef_cov
    h2 = float(cat.sum())
    h2_se = float(np.sqrt(cat_cov.sum()))
    numer = m * jk.delete_values[:, :k] / n_bar
    denom = numer.sum(axis=1, keepdims=True)
    prop = cat / h2
    pseudo = data.n_blocks * prop - (data.n_blocks - 1) * numer / denom
    prop_cov = _pseudo_cov(pseudo)
    enrichment = (cat / m.ravel()) / (h2 / m_tot)
    intercept = float(jk.est[k])
    intercept_se = float(jk.se[k])
    mean_chisq = float(np.mean(y))
    ratio = (intercept - 1) / (mean_chisq - 1) if mean_chisq > 1 else float("nan")
    ratio_se = intercept_se / (mean_chisq - 1) if mean_chisq > 1 else float("nan")
    return PartitionedFit(
        names=list(data.names),
        m=data.m.copy(),
        coef=coef,
        coef_cov=coef_cov,
        coef_se=coef_se,
        cat=cat,
        cat_se=np.sqrt(np.diag(cat_cov)),
        h2=h2,
        h2_se=h2_se,
        prop=prop,
        prop_cov=prop_cov,
        enrichment=enrichment,
        intercept=intercept,
        intercept_se=intercept_se,
        mean_chisq=mean_chisq,
        lambda_gc=float(np.median(y) / 0.4549),
        ratio=float(ratio),
        ratio_se=float(ratio_se),
        n_snps=int(n_snp),
        n_blocks=int(data.n_blocks),
    )


def overlap_results(
    fit: PartitionedFit,
    overlap: np.ndarray,
    col_sums: np.ndarray,
    m_tot: int,
    categories: list[str] | None = None,
) -> pd.DataFrame:
    """ldsc's ``.results`` table for overlapping annotations, plus tau*.

    ``overlap``/``col_sums``/``m_tot`` from :func:`read_overlap` over the same columns as
    the fit (zero-variance columns already removed)."""
    k = len(fit.names)
    if overlap.shape != (k, k):
        raise ValueError(f"overlap matrix {overlap.shape} does not match {k} LD score columns")
    m = fit.m.reshape(1, -1)
    overlap_prop = overlap / m
    prop_h2 = (overlap_prop @ fit.prop).ravel()
    prop_var = np.diag(overlap_prop @ fit.prop_cov @ overlap_prop.T)
    prop_se = np.sqrt(np.maximum(0, prop_var))
    prop_m = fit.m / m_tot
    enrichment = prop_h2 / prop_m
    enrichment_se = prop_se / prop_m
    diff = np.zeros((k, k))
    for i in range(k):
        if m_tot != fit.m[i]:
            diff[i] = overlap[i] / fit.m[i] - (fit.m - overlap[i]) / (m_tot - fit.m[i])
    diff_est = diff @ fit.coef
    diff_se = np.sqrt(np.diag(diff @ fit.coef_cov @ diff.T))
    with np.errstate(divide="ignore", invalid="ignore"):
        enrichment_p = np.where(
            diff_se == 0, np.nan, 2 * stats.t.sf(np.abs(diff_est / diff_se), fit.n_blocks)
        )
        z = fit.coef / fit.coef_se
    mean = col_sums / m_tot
    sd = np.sqrt(np.maximum(np.diag(overlap) / m_tot - mean**2, 0.0))
    tau_scale = m_tot * sd / fit.h2
    return pd.DataFrame(
        {
            "Category": categories if categories is not None else fit.names,
            "Prop._SNPs": prop_m,
            "Prop._h2": prop_h2,
            "Prop._h2_std_error": prop_se,
            "Enrichment": enrichment,
            "Enrichment_std_error": enrichment_se,
            "Enrichment_p": enrichment_p,
            "Coefficient": fit.coef,
            "Coefficient_std_error": fit.coef_se,
            "Coefficient_z-score": z,
            "Coefficient_p": 2 * stats.norm.sf(np.abs(z)),
            "tau_star": fit.coef * tau_scale,
            "tau_star_std_error": np.abs(tau_scale) * fit.coef_se,
        }
    )
