"""SNP annotations for S-LDSC: one set per model from its variant scores, and a baseline.

Model annotations (the paper's): for a group of model outputs (features), a SNP's score is
the largest absolute predicted difference ``|P(alt) - P(ref)|`` over the group's features
(``diff`` in ``scores.h5``). Groups: ``feature`` (each feature alone, as in the paper's
per-feature analysis), ``cell_type``, ``category`` and ``all``. Each group gives a
``continuous`` annotation (the score) and/or a ``binary`` one (1 for the top
``top_fraction`` of SNPs by score genome-wide, ties broken by position; ldsc's enrichment
is meant for binary annotations). SNPs the scorer skipped get 0 (counted and logged).

Baseline annotations of a simulated genome (a small stand-in for baselineLD v2.2): ``base``
(all ones), inside a promoter / enhancer / insulator / CpG-island element, within 1 kb of
an element (outside it), GC fraction of the 1 kb around
the SNP (continuous), and MAF quintiles 2-5 (quintile 1 is absorbed by ``base``; all five
would be collinear with it).

Files: ``<prefix>.<c>.annot.gz`` in ldsc's format (see :mod:`amber.ldsc.ldscore`), plus
``annotations.tsv`` describing every column (name, kind, group_type, group, features,
threshold, n_snps).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from amber.ldsc.fsutil import atomic_dir, write_table
from amber.ldsc.ldscore import snp_filter, write_annot
from amber.ldsc.plink import chromosome_prefixes, read_bim, read_plink

log = logging.getLogger("amber")

GROUP_TYPES = ("all", "category", "cell_type", "feature")
KINDS = ("binary", "continuous")
_KIND_TAG = {"binary": "bin", "continuous": "cont"}
_GROUP_TAG = {"all": "all", "category": "cat", "cell_type": "ct", "feature": "f"}


def column_name(kind: str, group_type: str, group: str) -> str:
    """``bin.ct.liver``: safe for ldsc's whitespace-separated files."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", group).strip("_") or "x"
    if group_type == "all":
        return f"{_KIND_TAG[kind]}.all"
    return f"{_KIND_TAG[kind]}.{_GROUP_TAG[group_type]}.{safe}"


@dataclass(frozen=True)
class ReferenceSnps:
    """The reference panel's SNPs in file order (all chromosomes)."""

    keys: pd.DataFrame  # CHR BP SNP CM per SNP
    chrom_names: np.ndarray  # genome chromosome name per SNP
    a1: np.ndarray
    a2: np.ndarray
    codes: list[int]  # chromosome codes in order
    sizes: list[int]  # SNPs per chromosome

    def split(self, values: pd.DataFrame) -> list[pd.DataFrame]:
        parts, start = [], 0
        for size in self.sizes:
            parts.append(values.iloc[start : start + size].reset_index(drop=True))
            start += size
        return parts


def read_reference_snps(bfile: str, code_names: dict[int, str] | None = None) -> ReferenceSnps:
    """SNPs of ``bfile`` (``@`` = chromosome code); chromosome names from ``code_names``
    (genotypes.json), else the part of the SNP ID before ``:``."""
    prefixes = chromosome_prefixes(bfile)
    bims = [read_bim(f"{p}.bim") for p in prefixes.values()]
    bim = pd.concat(bims, ignore_index=True)
    if code_names:
        names = bim["CHR"].astype(int).map(code_names)
        if names.isna().any():
            raise ValueError(f"{bfile}: chromosome codes without a name in genotypes.json")
        chrom_names = names.to_numpy(dtype=str)
    else:
        chrom_names = bim["SNP"].str.split(":").str[0].to_numpy(dtype=str)
    return ReferenceSnps(
        keys=bim[["CHR", "BP", "SNP", "CM"]],
        chrom_names=chrom_names,
        a1=bim["A1"].str.upper().to_numpy(dtype=str),
        a2=bim["A2"].str.upper().to_numpy(dtype=str),
        codes=list(prefixes),
        sizes=[len(b) for b in bims],
    )


def match_scores(
    snps: ReferenceSnps, chrom: np.ndarray, pos: np.ndarray, ref: np.ndarray, alt: np.ndarray
) -> tuple[np.ndarray, dict[str, int]]:
    """Row of the scores for each reference SNP (-1 when unscored), joined on (chrom, pos,
    alleles); ``chr1``/``1`` naming and swapped REF/ALT are tolerated."""

    def norm(c: np.ndarray) -> np.ndarray:
        return np.char.lower(np.char.replace(np.asarray(c, dtype=str), "chr", ""))

    score_key = pd.DataFrame(
        {
            "chrom": norm(chrom),
            "pos": np.asarray(pos, dtype=np.int64),
            "ref": np.char.upper(np.asarray(ref, dtype=str)),
            "alt": np.char.upper(np.asarray(alt, dtype=str)),
            "row": np.arange(len(pos)),
        }
    ).drop_duplicates(subset=["chrom", "pos", "ref", "alt"])
    ours = pd.DataFrame(
        {
            "chrom": norm(snps.chrom_names),
            "pos": snps.keys["BP"].to_numpy(dtype=np.int64),
            "ref": snps.a2,  # A2 = REF, A1 = ALT (see amber.ldsc.genotypes)
            "alt": snps.a1,
        }
    )
    direct = ours.merge(score_key, on=["chrom", "pos", "ref", "alt"], how="left")["row"]
    swapped_key = score_key.rename(columns={"ref": "alt", "alt": "ref"})
    swapped = ours.merge(swapped_key, on=["chrom", "pos", "ref", "alt"], how="left")["row"]
    rows = direct.fillna(swapped).fillna(-1).to_numpy(dtype=np.int64)
    counts = {
        "snps": int(len(rows)),
        "matched": int((rows >= 0).sum()),
        "matched_swapped": int((direct.isna() & swapped.notna()).sum()),
        "unscored": int((rows < 0).sum()),
    }
    return rows, counts


def top_fraction(scores: np.ndarray, fraction: float) -> tuple[np.ndarray, float]:
    """Binary mask of the ``ceil(fraction * n)`` highest scores (ties by order) and the
    lowest score kept."""
    if not 0 < fraction < 1:
        raise ValueError(f"top_fraction={fraction} must be in (0, 1)")
    n_top = max(1, int(np.ceil(fraction * scores.size)))
    order = np.argsort(-scores, kind="stable")[:n_top]
    mask = np.zeros(scores.size, dtype=bool)
    mask[order] = True
    return mask, float(scores[order[-1]])


def feature_groups(
    features: Sequence, group_types: Sequence[str]
) -> list[tuple[str, str, list[int]]]:
    """(group_type, group, feature indices) for each requested group type."""
    groups: list[tuple[str, str, list[int]]] = []
    for group_type in group_types:
        if group_type not in GROUP_TYPES:
            raise ValueError(f"group type {group_type!r} is not one of {', '.join(GROUP_TYPES)}")
        if group_type == "all":
            groups.append(("all", "all", list(range(len(features)))))
        elif group_type == "feature":
            groups += [("feature", f.name, [i]) for i, f in enumerate(features)]
        else:
            values = [getattr(f, group_type) for f in features]
            for value in dict.fromkeys(values):
                groups.append((group_type, value, [i for i, v in enumerate(values) if v == value]))
    return groups


def model_annotations(
    scores_path: str | Path,
    features_path: str | Path,
    snps: ReferenceSnps,
    *,
    group_types: Sequence[str] = ("all", "cell_type", "feature"),
    kinds: Sequence[str] = ("binary",),
    fraction: float = 0.05,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """(annotation matrix (SNPs x columns), column table, match counts) of one model."""
    from amber.data.features import read_features
    from amber.variants.scores import read_scores

    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"annotation kind {kind!r} is not one of {', '.join(KINDS)}")
    features = read_features(features_path)
    data = read_scores(scores_path, ["diff", "chrom", "pos", "ref_allele", "alt_allele"])
    names = list(data["features"])
    if names != [f.name for f in features]:
        raise ValueError(
            f"{scores_path}: its features differ from {features_path} "
            f"({len(names)} vs {len(features)} names, or another order)"
        )
    rows, counts = match_scores(
        snps, data["chrom"], data["pos"], data["ref_allele"], data["alt_allele"]
    )
    if counts["matched"] == 0:
        raise ValueError(f"{scores_path}: no scored variant matches a reference SNP")
    if counts["unscored"]:
        log.warning(
            "%s: %d of %d reference SNPs have no score (annotated 0)",
            scores_path,
            counts["unscored"],
            counts["snps"],
        )
    absdiff = np.abs(np.asarray(data["diff"], dtype=np.float64))
    columns: dict[str, np.ndarray] = {}
    described = []
    for group_type, group, idx in feature_groups(features, group_types):
        per_snp = np.zeros(len(rows))
        scored = rows >= 0
        per_snp[scored] = absdiff[rows[scored]][:, idx].max(axis=1)
        for kind in kinds:
            name = column_name(kind, group_type, group)
            if name in columns:
                raise ValueError(f"two groups give the annotation name {name!r}")
            threshold = float("nan")
            values = per_snp
            if kind == "binary":
                mask, threshold = top_fraction(per_snp, fraction)
                values = mask.astype(float)
            columns[name] = values
            described.append(
                {
                    "annotation": name,
                    "kind": kind,
                    "group_type": group_type,
                    "group": group,
                    "n_features": len(idx),
                    "features": ",".join(features[i].name for i in idx),
                    "threshold": threshold,
                    "n_snps": int((values > 0).sum()),
                    "mean": float(values.mean()),
                }
            )
    return pd.DataFrame(columns), pd.DataFrame(described), counts


def _interval_arrays(table: pd.DataFrame, chrom: str) -> tuple[np.ndarray, np.ndarray]:
    sub = table.loc[table["chrom"] == chrom]
    order = np.argsort(sub["start"].to_numpy(), kind="stable")
    return sub["start"].to_numpy()[order], sub["end"].to_numpy()[order]


def _distance_to_intervals(pos0: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """bp from each 0-based position to the nearest [start, end) interval (0 inside)."""
    if not len(starts):
        return np.full(pos0.size, np.inf)
    reach = np.maximum.accumulate(ends).astype(float)  # furthest end so far, by start
    idx = np.searchsorted(starts, pos0, side="right") - 1
    has_left = idx >= 0
    reach_left = np.where(has_left, reach[np.maximum(idx, 0)], -np.inf)
    inside = reach_left > pos0
    d_left = np.where(has_left, pos0 - reach_left + 1, np.inf)
    nxt = idx + 1
    has_right = nxt < len(starts)
    d_right = np.where(has_right, starts[np.minimum(nxt, len(starts) - 1)] - pos0, np.inf)
    return np.where(inside, 0.0, np.minimum(d_left, d_right))


def _element_annotations(
    snps: ReferenceSnps, elements: pd.DataFrame, pos0: np.ndarray
) -> dict[str, np.ndarray]:
    """Inside a promoter / enhancer / insulator / CpG-island element; 1-kb flanks."""
    n = len(pos0)
    out: dict[str, np.ndarray] = {}
    # No "any element" column: it would be the sum of the three kinds (collinear).
    kinds = {
        "promoter": elements["kind"] == "promoter",
        "enhancer": elements["kind"] == "enhancer",
        "insulator": elements["kind"] == "insulator",
        "cpg_island": elements["cgi"].astype(int) == 1,
    }
    dist_any = np.full(n, np.inf)
    for chrom in np.unique(snps.chrom_names):
        rows = snps.chrom_names == chrom
        dist_any[rows] = _distance_to_intervals(pos0[rows], *_interval_arrays(elements, chrom))
    for name, select in kinds.items():
        values = np.zeros(n)
        for chrom in np.unique(snps.chrom_names):
            rows = snps.chrom_names == chrom
            starts, ends = _interval_arrays(elements.loc[select], chrom)
            values[rows] = _distance_to_intervals(pos0[rows], starts, ends) == 0
        out[name] = values
    out["flank_1kb"] = ((dist_any > 0) & (dist_any <= 1000)).astype(float)
    return out


def simulated_baseline(
    snps: ReferenceSnps, elements_path: str | Path | None, fasta: str | Path, bfile: str
) -> pd.DataFrame:
    """The baseline annotation matrix (SNPs x columns) described in the module doc; without
    an elements table (a genome from BED files) only base, GC and MAF quintiles."""
    from amber.data.genome import chromosome_codes, open_fasta
    from amber.data.truth import read_elements

    pos0 = snps.keys["BP"].to_numpy(dtype=np.int64) - 1
    n = len(pos0)
    out = {"base": np.ones(n)}
    if elements_path is not None:
        out.update(_element_annotations(snps, read_elements(elements_path), pos0))
    gc = np.zeros(n)
    with open_fasta(fasta) as handle:
        for chrom in np.unique(snps.chrom_names):
            rows = np.flatnonzero(snps.chrom_names == chrom)
            codes = chromosome_codes(handle, chrom)
            is_gc = ((codes == 1) | (codes == 2)).astype(np.int64)
            known = (codes < 4).astype(np.int64)
            cgc = np.concatenate([[0], np.cumsum(is_gc)])
            cknown = np.concatenate([[0], np.cumsum(known)])
            lo = np.clip(pos0[rows] - 500, 0, codes.size)
            hi = np.clip(pos0[rows] + 500, 0, codes.size)
            gc[rows] = (cgc[hi] - cgc[lo]) / np.maximum(cknown[hi] - cknown[lo], 1)
    out["gc_1kb"] = np.round(gc, 4)
    maf = np.concatenate(
        [snp_filter(read_plink(p)[0])[1] for p in chromosome_prefixes(bfile).values()]
    )
    edges = np.quantile(maf, [0.2, 0.4, 0.6, 0.8])
    quintile = np.searchsorted(edges, maf, side="right")
    for q in range(1, 5):
        out[f"maf_q{q + 1}"] = (quintile == q).astype(float)
    return pd.DataFrame(out)


def write_annotation_set(
    snps: ReferenceSnps,
    matrix: pd.DataFrame,
    out_dir: str | Path,
    name: str,
    described: pd.DataFrame | None = None,
) -> None:
    """``out_dir/<name>.<c>.annot.gz`` per chromosome (+ ``annotations.tsv``), atomically."""
    with atomic_dir(out_dir) as tmp:
        parts = snps.split(matrix)
        keys = snps.split(snps.keys)
        for code, key, part in zip(snps.codes, keys, parts, strict=True):
            write_annot(pd.concat([key, part], axis=1), tmp / f"{name}.{code}.annot.gz")
        if described is None:
            described = pd.DataFrame(
                {
                    "annotation": matrix.columns,
                    "kind": [
                        "continuous" if set(np.unique(matrix[c])) - {0.0, 1.0} else "binary"
                        for c in matrix.columns
                    ],
                    "n_snps": [int((matrix[c] > 0).sum()) for c in matrix.columns],
                    "mean": [float(matrix[c].mean()) for c in matrix.columns],
                }
            )
        write_table(described, tmp / "annotations.tsv")
