"""Simulated GWAS summary statistics with a planted heritability enrichment.

Truly functional SNPs are those inside a *bound* motif instance of the simulated genome
(``motif_instances.tsv`` rows with a non-empty ``bound_in``) or inside a TF/DNase/Pol peak
of any feature (``peaks/<feature>.bed``; histone marks are left out: they flank elements
rather than mark the bases that matter). That is the truth annotation.

Per trait with total SNP heritability ``h2`` and planted enrichment ``E`` (S-LDSC's
definition: share of h2 / share of SNPs, counted over the common SNPs as ldsc counts
them), standardised effects are drawn as ``beta_j ~ N(0, s2_j)`` with ``s2_j`` proportional
to ``1 + (r - 1) f_j`` (``f_j`` = functional) and summing to ``h2``, where the per-SNP
variance ratio ``r = E (1 - p) / (1 - E p)`` makes the expected share ``E p`` for a
functional fraction ``p`` (so ``E < 1 / p`` is required).

z-scores come from the LD of the *GWAS panel* (a larger sample of the same simulated
population than the LD-score reference panel), not from simulated individuals:
``z = sqrt(N) R beta + e`` with ``e ~ MVN(0, R)``. With ``X`` the panel's standardised
genotypes of one chromosome (``n`` individuals), ``R = X'X / n``, so ``R beta =
X'(X beta) / n`` and ``e = X' g / sqrt(n)`` with ``g ~ N(0, I_n)`` have exactly that
covariance without forming R. Chromosomes are independent. The intercept is 1 (no
confounding).

Outputs (``out``): ``<trait>.sumstats.gz`` (ldsc format: SNP A1 A2 Z N, A1 = ALT = the
allele z refers to), ``truth/truth.<c>.annot.gz`` (the truth annotation, one column
``functional``) and ``truth.json`` (definitions, planted and realised values).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from amber.fileio import atomic_path
from amber.ldsc.fsutil import atomic_dir, write_table
from amber.ldsc.ldscore import block_lefts, snp_filter, standardize, write_annot
from amber.ldsc.plink import chromosome_prefixes, read_plink

log = logging.getLogger("amber")

FUNCTIONAL_CATEGORIES = ("TF", "DNase", "Pol")
FUNCTIONAL_SOURCES = ("motifs", "peaks", "both")
_TRAIT = re.compile(r"^([A-Za-z0-9_.-]+):([0-9.eE+-]+):([0-9.eE+-]+)$")


@dataclass(frozen=True)
class Trait:
    name: str
    h2: float
    enrichment: float

    def validate(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name):
            raise ValueError(f"trait name {self.name!r}: use letters, digits, _ . - only")
        if not 0 < self.h2 <= 1:
            raise ValueError(f"trait {self.name}: h2={self.h2} must be in (0, 1]")
        if self.enrichment <= 0:
            raise ValueError(f"trait {self.name}: enrichment={self.enrichment} must be > 0")


def parse_trait(text: str) -> Trait:
    """``name:h2:enrichment`` -> :class:`Trait`."""
    hit = _TRAIT.match(text.strip())
    if not hit:
        raise ValueError(f"trait {text!r}: expected name:h2:enrichment, e.g. t1:0.5:5")
    trait = Trait(hit.group(1), float(hit.group(2)), float(hit.group(3)))
    trait.validate()
    return trait


def _inside(positions0: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which 0-based positions fall in any half-open interval [start, end)."""
    if not len(starts):
        return np.zeros(positions0.size, dtype=bool)
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)  # the furthest end among intervals starting before
    idx = np.searchsorted(starts, positions0, side="right") - 1
    hit = idx >= 0
    hit[hit] = reach[idx[hit]] > positions0[hit]
    return hit


def functional_mask(
    chroms: np.ndarray,
    positions: np.ndarray,
    motifs: pd.DataFrame | None,
    peaks: Sequence[pd.DataFrame],
) -> np.ndarray:
    """SNPs (chromosome names, 1-based positions) in a bound motif instance or a peak."""
    positions0 = np.asarray(positions, dtype=np.int64) - 1
    chroms = np.asarray(chroms)
    mask = np.zeros(positions0.size, dtype=bool)
    intervals: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if motifs is not None:
        bound = motifs.loc[motifs["bound_in"].astype(str).str.strip() != ""]
        intervals.append(
            (bound["chrom"].to_numpy(), bound["start"].to_numpy(), bound["end"].to_numpy())
        )
    for bed in peaks:
        intervals.append(
            (bed["Chromosome"].to_numpy(), bed["Start"].to_numpy(), bed["End"].to_numpy())
        )
    for chrom in np.unique(chroms):
        rows = chroms == chrom
        for ichrom, starts, ends in intervals:
            sel = ichrom == chrom
            mask[rows] |= _inside(
                positions0[rows], starts[sel].astype(np.int64), ends[sel].astype(np.int64)
            )
    return mask


def variance_ratio(enrichment: float, fraction: float) -> float:
    """Per-SNP variance ratio functional/other giving S-LDSC enrichment ``enrichment``."""
    if not 0 < fraction < 1:
        raise ValueError(f"functional SNP fraction {fraction:.4g} must be strictly in (0, 1)")
    if enrichment * fraction >= 1:
        raise ValueError(
            f"enrichment {enrichment} is impossible for a functional fraction of "
            f"{fraction:.4g}: it must be below 1 / fraction = {1 / fraction:.3g}"
        )
    return enrichment * (1 - fraction) / (1 - enrichment * fraction)


def banded_product(
    x: np.ndarray, beta: np.ndarray, left: np.ndarray, chunk: int = 256
) -> np.ndarray:
    """``R_w beta`` with ``R = X'X / n`` kept only within each SNP's window: SNP k counts
    for SNP j when ``left[j] <= k`` and ``left[k] <= j`` (``left`` from
    :func:`amber.ldsc.ldscore.block_lefts`, so the window is the LD-score window)."""
    n, m = x.shape
    out = np.zeros(m)
    right = np.searchsorted(left, np.arange(m), side="right")  # first k whose window misses j
    for s in range(0, m, chunk):
        e = min(s + chunk, m)
        lo, hi = int(left[s]), int(right[e - 1])
        r = x[:, s:e].T @ x[:, lo:hi] / n  # (chunk, window)
        ks = np.arange(lo, hi)
        js = np.arange(s, e)[:, None]
        inside = (ks[None, :] >= left[js]) & (ks[None, :] < right[js])
        out[s:e] = (r * inside) @ beta[lo:hi]
    return out


def simulate_z(
    panel: np.ndarray, beta: np.ndarray, n_gwas: float, rng, left: np.ndarray | None = None
) -> np.ndarray:
    """z = sqrt(N) R beta + MVN(0, R) noise, R the LD of ``panel`` (SNPs, individuals).

    With ``left`` (the LD-score window), the signal uses R only within the window: beyond
    it the panel's correlations are sampling noise (~1/n_panel each) whose sum over a
    chromosome would act like confounding (an inflated LDSC intercept). The noise keeps the
    full R, so its variance is exactly 1 per SNP.
    """
    x = standardize(panel)  # (individuals, SNPs)
    n = x.shape[0]
    if left is None:
        signal = x.T @ (x @ beta) / n
    else:
        signal = banded_product(x, beta, left)
    noise = x.T @ rng.standard_normal(n) / np.sqrt(n)
    return np.sqrt(n_gwas) * signal + noise


@dataclass
class _Chrom:
    code: int
    bim: pd.DataFrame
    panel: np.ndarray
    maf: np.ndarray


def _load(genotypes_dir: Path) -> tuple[list[_Chrom], dict[int, str]]:
    info = json.loads((genotypes_dir / "genotypes.json").read_text())
    names = {int(code): name for name, code in info["chromosome_codes"].items()}
    chroms = []
    ref = chromosome_prefixes(genotypes_dir / "reference" / "ref.@")
    panel = chromosome_prefixes(genotypes_dir / "panel" / "panel.@")
    if set(ref) != set(panel):
        raise ValueError(f"{genotypes_dir}: reference and panel cover different chromosomes")
    for code in ref:
        ref_g, bim, _ = read_plink(ref[code])
        panel_g, panel_bim, _ = read_plink(panel[code])
        if (bim["SNP"].to_numpy() != panel_bim["SNP"].to_numpy()).any():
            raise ValueError(f"{panel[code]}.bim: SNPs differ from {ref[code]}.bim")
        _, maf = snp_filter(ref_g)
        chroms.append(_Chrom(code=code, bim=bim, panel=panel_g, maf=maf))
    return chroms, names


def simulate_gwas(
    genotypes_dir: str | Path,
    out: str | Path,
    traits: Sequence[Trait],
    *,
    n_gwas: float,
    motifs: str | Path | None,
    features: str | Path | None,
    peaks_dir: str | Path | None,
    functional: str = "both",
    window_cm: float = 1.0,
    seed: int = 1,
) -> dict[str, Any]:
    """Write the outputs listed in the module doc; returns the truth.json content."""
    from amber.data.bed import feature_bed_files, read_bed
    from amber.data.features import read_features
    from amber.data.truth import read_motif_instances

    if functional not in FUNCTIONAL_SOURCES:
        raise ValueError(f"functional={functional!r} is not one of {', '.join(FUNCTIONAL_SOURCES)}")
    if not traits:
        raise ValueError("no trait to simulate")
    names_seen = set()
    for trait in traits:
        trait.validate()
        if trait.name in names_seen:
            raise ValueError(f"trait {trait.name!r} is listed twice")
        names_seen.add(trait.name)
    if n_gwas <= 0:
        raise ValueError(f"n_gwas={n_gwas} must be > 0")
    genotypes_dir, out = Path(genotypes_dir), Path(out)
    chroms, code_names = _load(genotypes_dir)

    snp_chrom = np.concatenate([[code_names[c.code]] * len(c.bim) for c in chroms])
    positions = np.concatenate([c.bim["BP"].to_numpy() for c in chroms])
    motif_table = None
    peak_tables: list[pd.DataFrame] = []
    if functional in ("motifs", "both"):
        if motifs is None:
            raise ValueError("functional SNPs from motifs need the motif_instances.tsv path")
        motif_table = read_motif_instances(motifs)
    if functional in ("peaks", "both"):
        if features is None or peaks_dir is None:
            raise ValueError("functional SNPs from peaks need features.tsv and the peak folder")
        feats = read_features(features)
        chosen = [f for f in feats if f.category in FUNCTIONAL_CATEGORIES]
        files = feature_bed_files(feats, Path(peaks_dir), features)
        sizes = {name: 1 << 62 for name in np.unique(snp_chrom)}
        for feat, path in zip(feats, files, strict=True):
            if feat in chosen:
                peak_tables.append(read_bed(path, sizes, keep=set(sizes)))
    func = functional_mask(snp_chrom, positions, motif_table, peak_tables)
    maf = np.concatenate([c.maf for c in chroms])
    common = maf > 0.05
    fraction = float(func[common].mean()) if common.any() else float("nan")
    log.info(
        "functional SNPs: %d of %d (%.2f%% of common SNPs)", func.sum(), func.size, 100 * fraction
    )

    rng_root = np.random.SeedSequence(seed)
    trait_rngs = [np.random.default_rng(s) for s in rng_root.spawn(len(traits))]
    results: dict[str, Any] = {}
    sumstats = {}
    for trait, rng in zip(traits, trait_rngs, strict=True):
        ratio = variance_ratio(trait.enrichment, fraction)
        weights = np.where(func, ratio, 1.0)
        sigma2 = trait.h2 * weights / weights.sum()
        beta = rng.standard_normal(func.size) * np.sqrt(sigma2)
        z_parts = []
        start = 0
        for chrom in chroms:
            stop = start + len(chrom.bim)
            left = block_lefts(chrom.bim["CM"].to_numpy(), window_cm)
            z_parts.append(simulate_z(chrom.panel, beta[start:stop], n_gwas, rng, left))
            start = stop
        z = np.concatenate(z_parts)
        b2 = beta**2
        realised_share = float(b2[common & func].sum() / b2[common].sum())
        results[trait.name] = {
            **asdict(trait),
            "variance_ratio": ratio,
            "expected_enrichment": trait.enrichment,
            "expected_prop_h2": trait.enrichment * fraction,
            "realised_h2": float(b2.sum()),
            "realised_enrichment": realised_share / fraction,
            "mean_chisq": float(np.mean(z**2)),
        }
        bims = pd.concat([c.bim for c in chroms], ignore_index=True)
        sumstats[trait.name] = pd.DataFrame(
            {"SNP": bims["SNP"], "A1": bims["A1"], "A2": bims["A2"], "Z": z, "N": n_gwas}
        )
        log.info(
            "%s: mean chi2 %.3f, realised enrichment %.3g",
            trait.name,
            results[trait.name]["mean_chisq"],
            results[trait.name]["realised_enrichment"],
        )

    out.mkdir(parents=True, exist_ok=True)
    for name, table in sumstats.items():
        write_table(table, out / f"{name}.sumstats.gz", float_format="%.6g")
    with atomic_dir(out / "truth") as tmp:
        start = 0
        for chrom in chroms:
            stop = start + len(chrom.bim)
            frame = chrom.bim[["CHR", "BP", "SNP", "CM"]].copy()
            frame["functional"] = func[start:stop].astype(int)
            write_annot(frame, tmp / f"truth.{chrom.code}.annot.gz")
            start = stop
    truth = {
        "functional": {
            "definition": {
                "motifs": "inside a bound motif instance (bound_in not empty)",
                "peaks": f"inside a peak of a {'/'.join(FUNCTIONAL_CATEGORIES)} feature",
                "both": "inside a bound motif instance or a TF/DNase/Pol peak",
            }[functional],
            "source": functional,
            "n_snps": int(func.size),
            "n_functional": int(func.sum()),
            "fraction_common": fraction,
        },
        "n_gwas": n_gwas,
        "seed": seed,
        "traits": results,
    }
    with atomic_path(out / "truth.json") as tmp:
        tmp.write_text(json.dumps(truth, indent=1) + "\n")
    return truth
