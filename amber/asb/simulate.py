"""Simulated allele-specific binding (ASB) on the simulated genome: the demo's ground truth.

Each row is a heterozygous SNV measured in the ChIP-seq of one TF in one cell type, with
reads per allele. The allelic imbalance follows a simple thermodynamic picture: a site's
occupancy grows as ``2 ** (beta * score)`` with its PWM log2-odds score, so the expected
reference share of the reads is ``1 / (1 + 2 ** (beta * delta))`` for an effective score
change ``delta`` (alt - ref). Scores below a TF-specific floor (a low quantile of its planted
sites) count as the floor: background matches do not bind, so random SNVs are neutral.

Three kinds of SNV are drawn per TF (all inside the TF's peaks in that cell type):

* **direct** - inside a bound motif instance of the TF (or, rarely, outside one but
  creating a match above the floor): ``delta`` is the change of the TF's best PWM match
  over the windows containing the SNV (``delta_pwm``). Loss or gain.
* **indirect** - inside another motif of the same regulatory element whose site the SNV
  destroys (its own score drops by at least ``removal_bits``), where the simulator's
  grammar (:func:`amber.data.simulate.evaluate_element`: openers, cooperative partners)
  says the TF then no longer binds in that cell type. The TF's reads follow the destroyed
  site's occupancy (``delta`` = that site's score change) although its own PWM match does
  not change: a loss a PWM cannot see but a model of the grammar can.
* **flank** - elsewhere in the peak, away from every motif instance: neutral unless the SNV
  happens to create a match above the floor (then a direct gain).

Truth columns: ``true_effect`` (gain/loss when ``|delta| >= effect_bits``, else neutral),
``mechanism``, ``delta_pwm`` (the TF's own best-match change), ``delta_effective`` (the
``delta`` above), ``expected_ref_fraction``, ``site`` (the motif instance hit, "" for
flank). Total depth is 1 + negative binomial (mean ``mean_depth``), reads per allele
binomial - so some variants fall below the benchmark's read filter.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from amber.asb.config import AsbSimConfig
from amber.asb.genome import load_chromosomes
from amber.asb.pwm import best_match_pairs, motif_pwms, read_pfms
from amber.asb.table import check_ref_alleles, unique_variants, write_asb_table, write_vcf
from amber.data.bed import read_bed
from amber.data.features import bed_stem, read_features
from amber.data.motifs import N_CODE, encode_sequence
from amber.data.simulate import CELL_TYPES, evaluate_element
from amber.data.truth import read_elements, read_motif_instances
from amber.fileio import atomic_path

log = logging.getLogger("amber")

BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
TABLE_COLUMNS = (
    "chrom",
    "pos",
    "ref",
    "alt",
    "tf",
    "ref_reads",
    "alt_reads",
    "cell_type",
    "true_effect",
    "mechanism",
    "delta_pwm",
    "delta_effective",
    "expected_ref_fraction",
    "site",
)
MASK_MARGIN = 2  # flank SNVs stay this many bp away from every motif instance


def expected_ref_fraction(delta: np.ndarray, beta: float, cap: float) -> np.ndarray:
    """Reference share of the reads for an effective score change (alt - ref, bits)."""
    frac = 1.0 / (1.0 + np.exp2(beta * np.asarray(delta, dtype=float)))
    return np.clip(frac, 1.0 - cap, cap)


def effect_label(delta: np.ndarray, effect_bits: float) -> np.ndarray:
    delta = np.asarray(delta, dtype=float)
    return np.where(
        delta >= effect_bits, "gain", np.where(delta <= -effect_bits, "loss", "neutral")
    )


@dataclass
class _Genome:
    codes: dict[str, np.ndarray]
    lengths: dict[str, int]


def _snv_candidates(instances: pd.DataFrame, genome: _Genome) -> pd.DataFrame:
    """Every SNV (3 alts per base) inside every non-decoy instance: one row each."""
    # Columns are gathered as arrays and framed once: one small DataFrame per instance
    # and shift cost ~30 s on the demo genome.
    inst_ids, chroms, positions, refs, alts = [], [], [], [], []
    for k, inst in enumerate(instances.itertuples(index=False)):
        pos0 = np.arange(inst.start, inst.end, dtype=np.int64)
        ref = genome.codes[inst.chrom][pos0]
        keep = ref != N_CODE
        pos0, ref = pos0[keep], ref[keep]
        for shift in (1, 2, 3):
            inst_ids.append(np.full(len(pos0), k, dtype=np.int64))
            chroms.append(np.full(len(pos0), inst.chrom, dtype=object))
            positions.append(pos0)
            refs.append(ref)
            alts.append(((ref + shift) % 4).astype(np.uint8))
    return pd.DataFrame(
        {
            "inst": np.concatenate(inst_ids),
            "chrom": pd.array(np.concatenate(chroms), dtype="str"),
            "pos0": np.concatenate(positions),
            "ref": np.concatenate(refs),
            "alt": np.concatenate(alts),
        }
    )


def _delta(
    pwm: np.ndarray, floor: float, genome: _Genome, cand: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """(raw, effective) change of the best match of ``pwm`` for SNV candidates."""
    raw = np.zeros(len(cand))
    eff = np.zeros(len(cand))
    for chrom, idx in cand.groupby("chrom").indices.items():
        sub = cand.iloc[idx]
        s_ref, s_alt = best_match_pairs(
            pwm,
            genome.codes[chrom],
            sub["pos0"].to_numpy(),
            sub["ref"].to_numpy(),
            sub["alt"].to_numpy(),
        )
        with np.errstate(invalid="ignore"):
            raw[idx] = np.nan_to_num(s_alt - s_ref, nan=0.0, posinf=0.0, neginf=0.0)
        eff[idx] = np.maximum(s_alt, floor) - np.maximum(s_ref, floor)
    return raw, eff


def _peaks_of(bed_dir: Path, feature: str, lengths: dict[str, int]) -> pd.DataFrame:
    path = bed_dir / f"{bed_stem(feature)}.bed"
    if not path.exists():
        raise FileNotFoundError(f"{path}: peak file of feature {feature!r} is missing")
    return read_bed(path, lengths)


def _instance_mask(instances: pd.DataFrame, genome: _Genome) -> dict[str, np.ndarray]:
    mask = {c: codes == N_CODE for c, codes in genome.codes.items()}
    for chrom, start, end in zip(
        instances["chrom"], instances["start"], instances["end"], strict=True
    ):
        mask[chrom][max(0, start - MASK_MARGIN) : end + MASK_MARGIN] = True
    return mask


def _flank_candidates(
    peaks: pd.DataFrame,
    mask: dict[str, np.ndarray],
    genome: _Genome,
    n: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Up to ``n`` random unmasked positions inside the peaks, with a random alt base."""
    if peaks.empty or n == 0:
        return pd.DataFrame(columns=["chrom", "pos0", "ref", "alt"])
    widths = (peaks["End"] - peaks["Start"]).to_numpy()
    pick = rng.choice(len(peaks), size=4 * n, p=widths / widths.sum())
    pos0 = peaks["Start"].to_numpy()[pick] + (rng.random(4 * n) * widths[pick]).astype(np.int64)
    chroms = peaks["Chromosome"].to_numpy()[pick]
    free = np.array([not mask[c][p] for c, p in zip(chroms, pos0, strict=True)], dtype=bool)
    cand = pd.DataFrame({"chrom": chroms[free], "pos0": pos0[free]})
    cand = cand.drop_duplicates().head(n).reset_index(drop=True)
    cand["ref"] = np.array(
        [genome.codes[c][p] for c, p in zip(cand["chrom"], cand["pos0"], strict=True)],
        dtype=np.uint8,
    )
    cand["alt"] = ((cand["ref"] + rng.integers(1, 4, len(cand))) % 4).astype(np.uint8)
    return cand


def _spread_order(pool: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Shuffle, then take one SNV per site before a second one from the same site."""
    pool = pool.iloc[rng.permutation(len(pool))].reset_index(drop=True)
    if "site" in pool:
        nth = pool.groupby("site").cumcount().to_numpy()
        pool = pool.iloc[np.argsort(nth, kind="stable")].reset_index(drop=True)
    return pool


def _take(pool: pd.DataFrame, n: int, used: set[tuple[str, int]]) -> pd.DataFrame:
    if n <= 0 or pool.empty:
        return pool.iloc[:0]
    keep = []
    for i, (chrom, pos0) in enumerate(zip(pool["chrom"], pool["pos0"], strict=True)):
        if (chrom, pos0) in used:
            continue
        used.add((chrom, pos0))
        keep.append(i)
        if len(keep) == n:
            break
    return pool.iloc[keep]


def _element_dependencies(
    instances: pd.DataFrame, elements: pd.DataFrame, cell_types: tuple[str, ...]
) -> list[tuple[int, int, tuple[str, ...]]]:
    """(site j, dependent site i, cells where i is bound only while j exists)."""
    info = elements.set_index("element_id")
    out = []
    n_mismatch = 0
    for element_id, group in instances.groupby("element_id", sort=True):
        if element_id not in info.index or len(group) < 2:
            continue
        el = info.loc[element_id]
        idx = group.index.to_numpy()
        sites = list(zip(group["tf"], group["start"], group["end"], strict=True))
        _, bound, _ = evaluate_element(el["kind"], bool(int(el["cgi"])), sites, cell_types)
        recorded = [tuple(b.split(",")) if b else () for b in group["bound_in"]]
        if [set(b) for b in bound] != [set(b) for b in recorded]:
            n_mismatch += 1  # the grammar changed since the genome was simulated: skip it
            continue
        for jj in range(len(sites)):
            rest = [s for k, s in enumerate(sites) if k != jj]
            _, bound_wo, _ = evaluate_element(el["kind"], bool(int(el["cgi"])), rest, cell_types)
            for k, ii in enumerate(kk for kk in range(len(sites)) if kk != jj):
                lost = tuple(c for c in bound[ii] if c not in bound_wo[k])
                if lost:
                    out.append((int(idx[jj]), int(idx[ii]), lost))
    if n_mismatch:
        log.warning("simulate-asb: %d element(s) skipped for indirect effects", n_mismatch)
    return out


@dataclass
class _Context:
    """Everything the per-TF draws share (read once per simulation)."""

    genome: _Genome
    genome_dir: Path
    pwms: dict[str, np.ndarray]
    floors: dict[str, float]
    instances: pd.DataFrame  # non-decoy instances with a motif; row = instance index
    bound: list[set[str]]  # cell types each instance is bound in
    cand: pd.DataFrame  # every SNV of every instance, scored with the instance's own TF
    deps: list[tuple[int, int, tuple[str, ...]]]  # (site j, site i, cells i needs j in)
    mask: dict[str, np.ndarray]  # motif instances (+ margin) and Ns


def _direct_pool(ctx: _Context, tf_key: str, cells: set[str]) -> pd.DataFrame:
    """SNVs in the TF's own instances bound in one of ``cells``."""
    own = ctx.cand[ctx.cand["site_tf"] == tf_key].copy()
    own["cells"] = [tuple(sorted(ctx.bound[k] & cells)) for k in own["inst"]]
    own = own[own["cells"].map(len) > 0].copy()
    own["delta_pwm"] = own["site_raw"]
    own["delta_effective"] = own["site_delta"]
    own["mechanism"] = "direct"
    return own


def _indirect_pool(ctx: _Context, tf_key: str, cells: set[str], cfg: AsbSimConfig) -> pd.DataFrame:
    """SNVs destroying (by >= removal_bits) a site the TF's binding depends on."""
    # Row numbers are collected with numpy and taken once: a boolean-mask selection of the
    # candidate table per dependency cost ~50 s on the demo genome (pyarrow string columns).
    inst = ctx.cand["inst"].to_numpy()
    pos = ctx.cand["pos0"].to_numpy()
    destroyed = ctx.cand["site_delta"].to_numpy() <= -cfg.removal_bits
    rows, row_cells = [], []
    for j, i, lost in ctx.deps:
        lost_here = tuple(c for c in lost if c in cells)
        if ctx.instances["tf_key"].iat[i] != tf_key or not lost_here:
            continue
        start, end = ctx.instances["start"].iat[i], ctx.instances["end"].iat[i]
        hit = np.flatnonzero((inst == j) & destroyed & ((pos < start) | (pos >= end)))
        rows.append(hit)
        row_cells += [lost_here] * len(hit)
    if not rows:
        return ctx.cand.iloc[:0].assign(cells=[], delta_pwm=[], delta_effective=[], mechanism=[])
    pool = ctx.cand.iloc[np.concatenate(rows)].reset_index(drop=True)
    pool["cells"] = row_cells
    pool = pool.drop_duplicates(subset=["chrom", "pos0", "alt"])
    raw, own = _delta(ctx.pwms[tf_key], ctx.floors[tf_key], ctx.genome, pool)
    pool["delta_pwm"] = raw
    pool["delta_effective"] = own + pool["site_delta"].to_numpy()
    pool["mechanism"] = "indirect"
    return pool


def _peak_masks(ctx: _Context, cells: dict[str, str]) -> dict[str, dict[str, np.ndarray]]:
    """cell -> chrom -> bool array: the TF's peaks in that cell type."""
    out = {}
    for cell, feature in cells.items():
        peaks = _peaks_of(ctx.genome_dir / "peaks", feature, ctx.genome.lengths)
        masks = {c: np.zeros(n, dtype=bool) for c, n in ctx.genome.lengths.items()}
        for chrom, start, end in zip(
            peaks["Chromosome"], peaks["Start"], peaks["End"], strict=True
        ):
            masks[chrom][start:end] = True
        out[cell] = masks
    return out


def _in_peaks(pool: pd.DataFrame, peaks: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """Keep, per SNV, only the cell types whose peak covers it; drop SNVs left with none."""
    cells = [
        tuple(c for c in cs if peaks[c][chrom][p])
        for cs, chrom, p in zip(pool["cells"], pool["chrom"], pool["pos0"], strict=True)
    ]
    pool = pool.assign(cells=cells)
    return pool[pool["cells"].map(len) > 0]


def _flank_pool(
    ctx: _Context,
    tf_key: str,
    cells: dict[str, str],
    n: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Random SNVs in the TF's peaks (per cell type) away from every motif instance."""
    parts = []
    for cell, feature in sorted(cells.items()):
        intervals = _peaks_of(ctx.genome_dir / "peaks", feature, ctx.genome.lengths)
        part = _flank_candidates(intervals, ctx.mask, ctx.genome, n, rng)
        part["cells"] = [(cell,)] * len(part)
        parts.append(part)
    flank = pd.concat(parts, ignore_index=True)
    raw, eff = _delta(ctx.pwms[tf_key], ctx.floors[tf_key], ctx.genome, flank)
    flank["delta_pwm"], flank["delta_effective"] = raw, eff
    flank["mechanism"] = np.where(eff != 0, "direct", "none")
    flank["site"] = ""
    return flank


def _draw_tf(
    ctx: _Context,
    tf: str,
    cells: dict[str, str],
    cfg: AsbSimConfig,
    rng: np.random.Generator,
    used: set[tuple[str, int]],
) -> pd.DataFrame:
    """The rows of one TF: losses (a share indirect), gains, neutral SNVs, then reads."""
    tf_key = tf.upper()
    cell_set = set(cells)
    peaks = _peak_masks(ctx, cells)
    own = _in_peaks(_direct_pool(ctx, tf_key, cell_set), peaks)
    indirect = _in_peaks(_indirect_pool(ctx, tf_key, cell_set, cfg), peaks)
    indirect = indirect[effect_label(indirect["delta_effective"], cfg.effect_bits) == "loss"]
    flank = _flank_pool(ctx, tf_key, cells, 3 * cfg.n_neutral, rng)
    own_label = effect_label(own["delta_effective"], cfg.effect_bits)
    flank_label = effect_label(flank["delta_effective"], cfg.effect_bits)

    n_indirect = min(len(indirect), round(cfg.indirect_share * cfg.n_loss))
    picked = [
        _take(_spread_order(indirect, rng), n_indirect, used),
        _take(_spread_order(own[own_label == "loss"], rng), cfg.n_loss - n_indirect, used),
    ]
    short = cfg.n_loss - sum(len(p) for p in picked)
    if short > 0:  # few direct losses: top up from the indirect ones
        picked.append(_take(_spread_order(indirect, rng), short, used))
    gains = pd.concat([own[own_label == "gain"], flank[flank_label == "gain"]])
    picked.append(_take(_spread_order(gains, rng), cfg.n_gain, used))
    n_motif = round(cfg.motif_neutral_share * cfg.n_neutral)
    picked.append(_take(_spread_order(own[own_label == "neutral"], rng), n_motif, used))
    n_flank = cfg.n_neutral - len(picked[-1])
    picked.append(_take(_spread_order(flank[flank_label == "neutral"], rng), n_flank, used))
    chosen = pd.concat([p for p in picked if not p.empty], ignore_index=True)
    if chosen.empty:
        return chosen
    chosen["tf"] = tf
    chosen["cell_type"] = [c[int(rng.integers(len(c)))] for c in chosen["cells"]]
    return _draw_reads(chosen, cfg, rng)


def simulate_asb(genome_dir: str | Path, out_dir: str | Path, config: AsbSimConfig) -> dict:
    """Write ``asb_table.tsv``, ``asb_variants.vcf`` and ``simulation.json`` into ``out_dir``
    from a simulated genome folder (see the module docstring). Returns the summary."""
    genome_dir, out_dir = Path(genome_dir), Path(out_dir)
    cfg = config
    features = read_features(genome_dir / "features.tsv")
    pwms = motif_pwms(read_pfms(genome_dir / "motifs.json"))
    all_inst = read_motif_instances(genome_dir / "motif_instances.tsv")
    codes, lengths = load_chromosomes(genome_dir / "genome.fa")
    genome = _Genome(codes, lengths)

    tf_cells: dict[str, dict[str, str]] = {}
    for f in features:
        if f.category == "TF" and f.assay.upper() in pwms:
            tf_cells.setdefault(f.assay, {})[f.cell_type] = f.name
    missing = sorted({f.assay for f in features if f.category == "TF"} - set(tf_cells))
    if missing:
        log.warning("simulate-asb: no motif in motifs.json for TF(s) %s", ", ".join(missing))

    instances = all_inst[all_inst["element_id"] != "decoy"].copy()
    instances["tf_key"] = instances["tf"].str.upper()
    instances = instances[instances["tf_key"].isin(pwms)].reset_index(drop=True)
    # Floor per TF: a low quantile of its planted sites' scores (recomputed with our PWM).
    floors = {}
    for tf_key, group in instances.groupby("tf_key"):
        pwm = pwms[tf_key]
        scores = [
            float(pwm[np.arange(len(pwm)), encode_sequence(s)].sum()) for s in group["sequence"]
        ]
        floors[tf_key] = float(np.quantile(scores, cfg.floor_quantile))
    cand = _snv_candidates(instances, genome)
    cand["site_tf"] = instances["tf_key"].to_numpy()[cand["inst"].to_numpy()]
    cand["site"] = instances["instance_id"].to_numpy()[cand["inst"].to_numpy()]
    cand["site_raw"] = 0.0
    cand["site_delta"] = 0.0
    for tf_key, idx in cand.groupby("site_tf").indices.items():
        raw, eff = _delta(pwms[tf_key], floors[tf_key], genome, cand.iloc[idx])
        cand.loc[cand.index[idx], "site_raw"] = raw
        cand.loc[cand.index[idx], "site_delta"] = eff
    ctx = _Context(
        genome=genome,
        genome_dir=genome_dir,
        pwms=pwms,
        floors=floors,
        instances=instances,
        bound=[set(b.split(",")) if b else set() for b in instances["bound_in"]],
        cand=cand,
        deps=_element_dependencies(
            instances, read_elements(genome_dir / "elements.tsv"), _cell_types(genome_dir)
        ),
        mask=_instance_mask(all_inst, genome),
    )

    rows: list[pd.DataFrame] = []
    used: set[tuple[str, int]] = set()
    summary_tfs: dict[str, dict] = {}
    for t_index, (tf, cells) in enumerate(sorted(tf_cells.items())):
        if tf.upper() not in floors:
            log.warning("simulate-asb: TF %s has no planted sites; skipped", tf)
            continue
        rng = np.random.default_rng([cfg.seed, t_index])  # per TF: stable if others change
        chosen = _draw_tf(ctx, tf, cells, cfg, rng, used)
        if chosen.empty:
            continue
        rows.append(chosen)
        counts = chosen.groupby(["true_effect", "mechanism"]).size()
        summary_tfs[tf] = {f"{e}/{m}": int(n) for (e, m), n in counts.items()}

    if not rows:
        raise ValueError(f"{genome_dir}: no TF with a motif and bound sites; nothing to simulate")
    table = _finish_table(pd.concat(rows, ignore_index=True), genome)
    check_ref_alleles(table, genome.codes, "simulated ASB table")
    variants = unique_variants(table, contigs=list(lengths))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_asb_table(table, out_dir / "asb_table.tsv")
    write_vcf(variants, out_dir / "asb_variants.vcf", lengths)
    summary = {
        "config": dataclasses.asdict(cfg),
        "n_rows": int(len(table)),
        "n_variants": int(len(variants)),
        "floors": {tf: round(v, 3) for tf, v in sorted(floors.items())},
        "true_effect": {k: int(v) for k, v in table["true_effect"].value_counts().items()},
        "per_tf": summary_tfs,
    }
    with atomic_path(out_dir / "simulation.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _cell_types(genome_dir: Path) -> tuple[str, ...]:
    path = genome_dir / "simulation.json"
    if path.exists():
        cells = json.loads(path.read_text()).get("config", {}).get("cell_types")
        if cells:
            return tuple(cells)
    return tuple(CELL_TYPES)


def _draw_reads(chosen: pd.DataFrame, cfg: AsbSimConfig, rng: np.random.Generator) -> pd.DataFrame:
    chosen = chosen.copy()
    delta = chosen["delta_effective"].to_numpy(dtype=float)
    frac = expected_ref_fraction(delta, cfg.beta, cfg.max_imbalance)
    mean = cfg.mean_depth - 1.0
    r = cfg.depth_dispersion
    total = 1 + rng.negative_binomial(r, r / (r + mean), size=len(chosen))
    ref_reads = rng.binomial(total, frac)
    chosen["expected_ref_fraction"] = frac
    chosen["ref_reads"] = ref_reads
    chosen["alt_reads"] = total - ref_reads
    chosen["true_effect"] = effect_label(delta, cfg.effect_bits)
    return chosen


def _finish_table(df: pd.DataFrame, genome: _Genome) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "chrom": df["chrom"].to_numpy(),
            "pos": df["pos0"].to_numpy(dtype=np.int64) + 1,
            "ref": [chr(BASES[c]) for c in df["ref"]],
            "alt": [chr(BASES[c]) for c in df["alt"]],
            "tf": df["tf"].to_numpy(),
            "ref_reads": df["ref_reads"].to_numpy(dtype=np.int64),
            "alt_reads": df["alt_reads"].to_numpy(dtype=np.int64),
            "cell_type": df["cell_type"].to_numpy(),
            "true_effect": df["true_effect"].to_numpy(),
            "mechanism": df["mechanism"].to_numpy(),
            "delta_pwm": np.round(df["delta_pwm"].to_numpy(dtype=float), 4),
            "delta_effective": np.round(df["delta_effective"].to_numpy(dtype=float), 4),
            "expected_ref_fraction": np.round(df["expected_ref_fraction"].to_numpy(float), 4),
            "site": df["site"].fillna("").to_numpy(),
        }
    )
    order = {c: i for i, c in enumerate(genome.lengths)}
    out["_rank"] = out["chrom"].map(order)
    out = out.sort_values(["_rank", "pos", "tf"], kind="mergesort").drop(columns="_rank")
    return out.reset_index(drop=True)[list(TABLE_COLUMNS)]
