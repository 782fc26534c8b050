"""Simulate a whole genome (:func:`simulate_genome`) and write its files: FASTA and index,
features, peaks, truth tables, motifs and a summary."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from amber.data.features import Feature, bed_stem, write_features
from amber.data.motifs import N_CODE, decode_sequence, load_motifs, parse_motif_specs, pwm_log_odds
from amber.data.simulate.background import gc_and_cpg, interspersed_consensus
from amber.data.simulate.config import SimConfig
from amber.data.simulate.grammar import (
    COOPERATIVE,
    EXPRESSION,
    OPENERS,
    PARTNER_MAX_GAP,
    SPACING,
    feature_table,
)
from amber.data.simulate.layout import (
    Chromosome,
    chromosome_peaks,
    merge_intervals,
    simulate_chromosome,
)
from amber.data.truth import ELEMENT_COLUMNS, INSTANCE_COLUMNS
from amber.fileio import atomic_path

FASTA_LINE = 60
BIN_SIZE = 200  # bin size for the summary's label-density statistics


def _write_fasta(chroms: Sequence[Chromosome], fasta: Path) -> list[tuple[str, int, int]]:
    """Write the FASTA (60-column lines); returns (name, length, byte offset) per record."""
    index: list[tuple[str, int, int]] = []
    offset = 0
    with atomic_path(fasta) as tmp, open(tmp, "wb") as handle:
        for chrom in chroms:
            header = f">{chrom.name}\n".encode()
            seq = decode_sequence(chrom.codes).encode("ascii")
            body = b"\n".join(seq[i : i + FASTA_LINE] for i in range(0, len(seq), FASTA_LINE))
            handle.write(header + body + b"\n")
            index.append((chrom.name, len(seq), offset + len(header)))
            offset += len(header) + len(body) + 1
    return index


def _write_fai(index: Sequence[tuple[str, int, int]], fai: Path) -> None:
    """samtools faidx index: name, length, offset, bases per line, bytes per line."""
    with atomic_path(fai) as tmp, open(tmp, "w") as handle:
        for name, length, offset in index:
            handle.write(f"{name}\t{length}\t{offset}\t{FASTA_LINE}\t{FASTA_LINE + 1}\n")


def _write_tsv(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, lineterminator="\n")


def _write_json(obj: object, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as handle:
        json.dump(obj, handle, indent=2)
        handle.write("\n")


def _instances_frame(chroms: Sequence[Chromosome]) -> pd.DataFrame:
    rows = []
    for chrom in chroms:
        insts = [i for el in chrom.elements for i in el.instances] + chrom.decoys
        for k, inst in enumerate(sorted(insts, key=lambda i: (i.start, i.end))):
            rows.append(
                (
                    f"{chrom.name}.m{k + 1:05d}",
                    inst.chrom,
                    inst.start,
                    inst.end,
                    inst.strand,
                    inst.tf,
                    inst.motif_id,
                    inst.element_id,
                    inst.sequence,
                    ",".join(inst.bound_in),
                    inst.score,
                )
            )
    return pd.DataFrame(rows, columns=list(INSTANCE_COLUMNS))


def _elements_frame(chroms: Sequence[Chromosome]) -> pd.DataFrame:
    rows = [
        (
            el.element_id,
            el.chrom,
            el.start,
            el.end,
            el.kind,
            ",".join(el.open_in),
            int(el.kind == "promoter" and bool(el.active_in)),
            el.grammar,
            int(el.cgi),
            ",".join(el.active_in),
            len(el.instances),
        )
        for chrom in chroms
        for el in chrom.elements
    ]
    return pd.DataFrame(rows, columns=list(ELEMENT_COLUMNS))


def _bin_shares(
    chroms: Sequence[Chromosome], merged: Mapping[str, Mapping[str, list]]
) -> tuple[float, float]:
    """Share of N-free BIN_SIZE bins touching any peak, and at least half covered by one."""
    touched = half = total = 0
    for chrom in chroms:
        n_bins = len(chrom.codes) // BIN_SIZE
        cover = np.zeros(len(chrom.codes), dtype=bool)
        best = np.zeros(n_bins, dtype=np.int64)
        for per_chrom in merged.values():
            feat_cover = np.zeros(len(chrom.codes), dtype=bool)
            for start, end, _ in per_chrom.get(chrom.name, []):
                feat_cover[start:end] = True
            cover |= feat_cover
            best = np.maximum(best, feat_cover[: n_bins * BIN_SIZE].reshape(n_bins, -1).sum(1))
        has_n = (chrom.codes[: n_bins * BIN_SIZE] == N_CODE).reshape(n_bins, -1).any(1)
        any_peak = cover[: n_bins * BIN_SIZE].reshape(n_bins, -1).any(1)
        total += int((~has_n).sum())
        touched += int((any_peak & ~has_n).sum())
        half += int(((best * 2 >= BIN_SIZE) & ~has_n).sum())
    return touched / total, half / total


def _check_peaks(chrom: Chromosome, feature: str, ivs: Sequence[tuple[int, int, int]]) -> None:
    """Guard the layout invariant: peaks lie inside the chromosome and off N gaps."""
    n_before = np.concatenate([[0], np.cumsum(chrom.codes == N_CODE)])
    for start, end, _ in ivs:
        if start < 0 or end > len(chrom.codes) or n_before[end] != n_before[start]:
            raise RuntimeError(f"{feature}: peak {chrom.name}:{start}-{end} leaves the sequence")


def simulate_genome(config: SimConfig, out_dir: str | Path) -> dict:
    """Simulate the genome, peaks and truth tables into ``out_dir``; return summary stats.

    Files (each written atomically):

    * ``genome.fa``: uppercase, 60-column lines; ``genome.fa.fai``: samtools faidx index.
    * ``features.tsv``: see :mod:`amber.data.features`; ``peaks/<bed_stem(name)>.bed``: one
      BED6 per feature (chrom, start, end, name, score 0-1000, ``.``), 0-based half-open,
      sorted in genome order, merged. TF peak scores are the relative PWM score of the site.
    * ``motif_instances.tsv``: :data:`amber.data.truth.INSTANCE_COLUMNS`; ``sequence`` is the
      site in motif orientation (reverse complement of the genome for strand ``-``),
      ``bound_in`` a comma list of cell types (empty for decoys and unbound sites), ``score``
      the log2-odds PWM score (:func:`amber.data.motifs.pwm_log_odds`).
    * ``elements.tsv``: :data:`amber.data.truth.ELEMENT_COLUMNS`; ``open_in``/``active_in``
      comma lists.
    * ``motifs.json``: ``{tf: {"motif_id", "pfm": [[A, C, G, T], ...]}}`` (rows sum to 1).
    * ``simulation.json``: the config, JASPAR release, motif IDs, grammar and the stats.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    motif_ids = parse_motif_specs(config.motifs)
    tfs = [tf for tf in EXPRESSION if tf in motif_ids]  # grammar order, independent of input
    motif_ids = {tf: motif_ids[tf] for tf in tfs}
    pfms = load_motifs(config.jaspar_release, motif_ids)
    pwm_range = {}
    for tf, pfm in pfms.items():
        pwm = pwm_log_odds(pfm)
        pwm_range[tf] = (float(pwm.min(axis=1).sum()), float(pwm.max(axis=1).sum()))

    # Independent seed streams: the repeat family, then one per chromosome (by index), so a
    # chromosome's sequence does not depend on how many chromosomes are simulated.
    family = interspersed_consensus(
        np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(0,)))
    )
    chroms: list[Chromosome] = []
    merged: dict[str, dict[str, list[tuple[int, int, int]]]] = {}
    features = feature_table(config.cell_types, tfs)
    for f in features:
        merged[f.name] = {}
    for k in tqdm(range(config.n_chroms), desc="simulating chromosomes", disable=None):
        seed_seq = np.random.SeedSequence(config.seed, spawn_key=(1, k))
        name = f"{config.chrom_prefix}{k + 1}"
        chrom = simulate_chromosome(name, config, pfms, motif_ids, family, seed_seq)
        peak_rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(2, k)))
        for feat, ivs in chromosome_peaks(chrom, config.cell_types, pwm_range, peak_rng).items():
            merged[feat][name] = merge_intervals(ivs)
            _check_peaks(chrom, feat, merged[feat][name])
        chroms.append(chrom)

    index = _write_fasta(chroms, out_dir / "genome.fa")
    _write_fai(index, out_dir / "genome.fa.fai")  # after the FASTA so it is newer
    write_features(features, out_dir / "features.tsv")
    for f in features:
        stem = bed_stem(f.name)
        with atomic_path(out_dir / "peaks" / f"{stem}.bed") as tmp, open(tmp, "w") as handle:
            for chrom in chroms:
                for k, (start, end, score) in enumerate(merged[f.name].get(chrom.name, [])):
                    handle.write(
                        f"{chrom.name}\t{start}\t{end}\t{stem}.{chrom.name}.{k + 1}\t{score}\t.\n"
                    )
    instances = _instances_frame(chroms)
    elements = _elements_frame(chroms)
    _write_tsv(instances, out_dir / "motif_instances.tsv")
    _write_tsv(elements, out_dir / "elements.tsv")
    _write_json(
        {tf: {"motif_id": motif_ids[tf], "pfm": pfms[tf].tolist()} for tf in tfs},
        out_dir / "motifs.json",
    )

    stats = _summary(config, chroms, features, merged, instances)
    _write_json(
        {
            "config": dataclasses.asdict(config),
            "jaspar_release": config.jaspar_release,
            "motifs": motif_ids,
            "grammar": {
                "expression": {tf: list(EXPRESSION[tf]) for tf in tfs},
                "openers": {c: list(OPENERS[c]) for c in config.cell_types},
                "cooperative": {f"{tf}|{c}": list(p) for (tf, c), p in COOPERATIVE.items()},
                "partner_max_gap": PARTNER_MAX_GAP,
                "spacing": {k: list(v) for k, v in SPACING.items()},
            },
            "stats": stats,
        },
        out_dir / "simulation.json",
    )
    return stats


def _summary(
    config: SimConfig,
    chroms: Sequence[Chromosome],
    features: Sequence[Feature],
    merged: Mapping[str, Mapping[str, list]],
    instances: pd.DataFrame,
) -> dict:
    all_codes = np.concatenate([c.codes for c in chroms])
    gc, cpg = gc_and_cpg(all_codes)
    background = []
    for chrom in chroms:
        keep = np.ones(len(chrom.codes), dtype=bool)
        for el in chrom.elements:
            keep[el.start : el.end] = False
        background.append(chrom.codes[keep])
    bg_gc, bg_cpg = gc_and_cpg(np.concatenate(background))
    any_share, half_share = _bin_shares(chroms, merged)
    kinds: dict[str, int] = {}
    for chrom in chroms:
        for el in chrom.elements:
            kinds[el.kind] = kinds.get(el.kind, 0) + 1
    repeats = {k: sum(c.repeats[k] for c in chroms) for k in chroms[0].repeats}
    peaks_by_cat: dict[str, int] = {}
    for f in features:
        n = sum(len(v) for v in merged[f.name].values())
        peaks_by_cat[f.category] = peaks_by_cat.get(f.category, 0) + n
    return {
        "genome_bp": int(len(all_codes)),
        "n_chroms": len(chroms),
        "n_bp": int((all_codes == N_CODE).sum()),
        "gc_fraction": round(gc, 4),
        "cpg_obs_exp": round(cpg, 4),
        "background_gc_fraction": round(bg_gc, 4),
        "background_cpg_obs_exp": round(bg_cpg, 4),
        "n_elements": sum(kinds.values()),
        "elements_by_kind": dict(sorted(kinds.items())),
        "n_motif_instances": int(len(instances)),
        "n_bound_instances": int((instances["bound_in"] != "").sum()),
        "n_decoys": int((instances["element_id"] == "decoy").sum()),
        "repeats": repeats,
        "n_features": len(features),
        "n_tfs": len({f.assay for f in features if f.category == "TF"}),
        "n_cell_types": len(config.cell_types),
        "peaks_by_category": peaks_by_cat,
        "bin_size": BIN_SIZE,
        "frac_bins_any_peak": round(any_share, 4),
        "frac_bins_half_in_peak": round(half_share, 4),
        "features_without_peaks": [f.name for f in features if not any(merged[f.name].values())],
    }
