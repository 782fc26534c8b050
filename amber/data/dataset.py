"""Genome FASTA + one peak BED per feature -> one-hot HDF5 datasets (DeepSEA style).

Each chromosome is tiled into non-overlapping ``bin_size`` bins. A bin is positive for a
feature when at least half of it lies in that feature's (merged) peaks; the model input is
the ``seq_len`` bp window centred on the bin. All bins with a positive label are kept plus
a seeded ``negative_fraction`` share of the other bins of each chromosome. With
``anchor_categories`` (e.g. ``["TF"]``) only a positive label of a feature in those
categories keeps a bin - DeepSEA's training bins were those with at least one TF binding
event - and the other bins (histone- or DNase-only included) count as negatives. Whole
chromosomes are held out for validation and test, as DeepSEA did.

Rows are first staged per split in temporary flat files (base codes and labels), then each
split is written to HDF5 in blocks: training rows in a seeded random permutation (so that
chunk-level shuffling in the loader still gives mixed batches), valid/test rows in genome
order. Every output appears under its final name only once the whole run has succeeded.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import h5py
import numpy as np
import pandas as pd
from tqdm import tqdm

from amber.data.bed import BedError, feature_bed_files, read_bed
from amber.data.features import Feature, read_features, write_features
from amber.data.genome import (
    BASES,
    UNKNOWN,
    InputError,
    chromosome_codes,
    one_hot_codes,
    open_fasta,
    scan_fasta,
)
from amber.data.splits import SPLITS, Segment, assign_segments, shortlist
from amber.fileio import atomic_path, naming_write_errors, scratch_dir

log = logging.getLogger(__name__)

# Rows gathered at once from a chromosome, and bytes of x per HDF5 write: bounds memory.
_GATHER_ROWS = 1 << 16
_WRITE_BYTES = 1 << 25


class DatasetError(InputError):
    """Inconsistent dataset parameters (holdout chromosomes, empty splits, ...)."""


# --- HDF5 layout, shared with the DeepSEA importer ------------------------------------


def create_split_datasets(
    h5: h5py.File,
    *,
    n: int,
    seq_len: int,
    features: Sequence[Feature],
    chunk_size: int,
    bin_size: int,
    split: str,
    source: str,
    chrom_width: int,
) -> None:
    """Create the datasets and root attributes of one split file (the dataset contract)."""
    n_feat = len(features)
    # Resizable first axis only so that chunk_size may exceed a small split's row count.
    h5.create_dataset(
        "x",
        shape=(n, len(BASES), seq_len),
        maxshape=(None, len(BASES), seq_len),
        chunks=(chunk_size, len(BASES), seq_len),
        dtype=np.uint8,
    )
    h5.create_dataset(
        "y", shape=(n, n_feat), maxshape=(None, n_feat), chunks=(chunk_size, n_feat), dtype=np.uint8
    )
    h5.create_dataset("chrom", shape=(n,), dtype=f"S{max(chrom_width, 1)}")
    h5.create_dataset("start", shape=(n,), dtype=np.int64)
    h5.create_dataset("end", shape=(n,), dtype=np.int64)
    h5.attrs["seq_len"] = seq_len
    h5.attrs["bin_size"] = bin_size
    h5.attrs["split"] = split
    h5.attrs["base_order"] = BASES
    h5.attrs["features"] = [f.name for f in features]
    h5.attrs["source"] = source


def write_block_rows(chunk_size: int, row_bytes: int) -> int:
    """Rows per HDF5 write: a whole number of chunks of about ``_WRITE_BYTES``."""
    return chunk_size * max(1, _WRITE_BYTES // max(1, chunk_size * row_bytes))


# --- labels -----------------------------------------------------------------------------


def positive_bins(peaks: pd.DataFrame, bin_size: int) -> pd.DataFrame:
    """Bins (``Chromosome``, ``Bin`` index) with at least half of their bp inside ``peaks``.

    Peaks are merged first so that overlapping peaks are not counted twice; pyranges then
    tiles the merged peaks into genome-aligned bins with the overlap of each, and the
    overlaps of separate peaks falling into the same bin are summed.
    """
    import pyranges as pr

    if peaks.empty:
        return pd.DataFrame({"Chromosome": pd.Series([], dtype=object), "Bin": np.zeros(0, int)})
    tiles = pr.PyRanges(peaks[["Chromosome", "Start", "End"]]).merge().tile(bin_size, overlap=True)
    df = tiles.df
    df = pd.DataFrame(
        {
            "Chromosome": df["Chromosome"].astype(str).to_numpy(),
            "Bin": df["Start"].to_numpy(np.int64) // bin_size,
            "Overlap": df["TileOverlap"].to_numpy(np.int64),
        }
    )
    covered = df.groupby(["Chromosome", "Bin"], sort=False)["Overlap"].sum()
    hits = covered[covered * 2 >= bin_size].reset_index()
    return hits[["Chromosome", "Bin"]]


@dataclass
class _ChromLabels:
    """Sparse positives of one chromosome: parallel (bin, feature index) arrays."""

    bins: list[np.ndarray] = field(default_factory=list)
    feats: list[np.ndarray] = field(default_factory=list)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.bins:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(self.bins), np.concatenate(self.feats)


def label_features(
    bed_paths: Sequence[Path],
    chrom_sizes: Mapping[str, int],
    chroms: Sequence[str],
    bin_size: int,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per chromosome, the positive (bin, feature index) pairs of every feature's BED."""
    keep = set(chroms)
    labels = {c: _ChromLabels() for c in chroms}
    for index, path in enumerate(tqdm(bed_paths, desc="labelling", unit="BED", disable=None)):
        peaks = read_bed(path, chrom_sizes, keep=keep)
        if len(peaks) == 0:  # the feature would have no positive anywhere
            raise BedError(
                f"{path}: no peak on the chromosomes of this dataset ({len(keep)} used); "
                "is the BED empty or for another genome?"
            )
        hits = positive_bins(peaks, bin_size)
        for chrom, group in hits.groupby("Chromosome", sort=False):
            bins = group["Bin"].to_numpy(np.int64)
            labels[str(chrom)].bins.append(bins)
            labels[str(chrom)].feats.append(np.full(len(bins), index, np.int64))
    return {c: labels[c].arrays() for c in chroms}


# --- candidate bins and their windows ------------------------------------------------


def window_offset(bin_size: int, seq_len: int) -> int:
    """Start of the input window relative to its bin start (window centred on the bin)."""
    return (bin_size - seq_len) // 2


def usable_bins(chrom_len: int, bin_size: int, seq_len: int) -> tuple[int, int]:
    """Half-open range of bin indices whose bin and window both lie inside the chromosome."""
    offset = window_offset(bin_size, seq_len)
    first = max(0, -(offset // bin_size)) if offset < 0 else 0
    last = min(chrom_len // bin_size, (chrom_len - seq_len - offset) // bin_size + 1)
    return first, max(first, last)


def unknown_runs(is_n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-open ``(starts, ends)`` of the runs of True in ``is_n``."""
    if len(is_n) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    edges = np.flatnonzero(is_n[1:] != is_n[:-1]) + 1
    if is_n[0]:
        edges = np.concatenate([[0], edges])
    if is_n[-1]:
        edges = np.concatenate([edges, [len(is_n)]])
    return edges[0::2].astype(np.int64), edges[1::2].astype(np.int64)


def window_n_counts(is_n: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Number of unknown bases in each window ``[s, s + length)`` of a chromosome.

    Works on the runs of N (few, long) rather than a per-base cumulative sum, which would
    take 1-2 GB for chr1.
    """
    run_starts, run_ends = unknown_runs(is_n)
    run_lens = run_ends - run_starts
    before_run = np.concatenate([[0], np.cumsum(run_lens)])  # N bases before run i

    def n_before(pos: np.ndarray) -> np.ndarray:  # N bases in [0, pos)
        i = np.searchsorted(run_ends, pos, side="right")  # runs ending at or before pos
        inside = np.zeros(len(pos), np.int64)
        open_run = i < len(run_starts)
        j = i[open_run]
        inside[open_run] = np.clip(pos[open_run] - run_starts[j], 0, run_lens[j])
        return before_run[i] + inside

    starts = np.asarray(starts, dtype=np.int64)
    return n_before(starts + length) - n_before(starts)


@dataclass
class ChromSelection:
    """Rows chosen on one chromosome, with the counts behind the choice."""

    bins: np.ndarray
    n_usable: int
    n_positive: int
    n_negative: int
    n_dropped_n: int


def select_bins(
    positive: np.ndarray,
    first: int,
    last: int,
    n_unknown: np.ndarray,
    *,
    max_unknown: float,
    negative_fraction: float,
    rng: np.random.Generator,
) -> ChromSelection:
    """Keep every usable positive bin plus ``round(fraction * negatives)`` random negatives.

    ``positive`` are the bins with any positive label, ``[first, last)`` the bins whose
    window fits the chromosome and ``n_unknown`` the N count of each of those windows.
    """
    candidates = np.arange(first, last, dtype=np.int64)
    ok = n_unknown <= max_unknown
    is_pos = np.isin(candidates, positive)
    pos = candidates[ok & is_pos]
    neg = candidates[ok & ~is_pos]
    n_keep = round(negative_fraction * len(neg))
    kept = rng.choice(neg, size=n_keep, replace=False) if n_keep else neg[:0]
    return ChromSelection(
        bins=np.sort(np.concatenate([pos, kept])),
        n_usable=int(ok.sum()),
        n_positive=len(pos),
        n_negative=int(n_keep),
        n_dropped_n=int((~ok).sum()),
    )


def label_rows(
    bins: np.ndarray, pos_bins: np.ndarray, pos_feats: np.ndarray, n_features: int
) -> np.ndarray:
    """Dense (len(bins), n_features) uint8 labels of sorted ``bins`` from sparse positives."""
    y = np.zeros((len(bins), n_features), np.uint8)
    if len(bins) and len(pos_bins):
        rows = np.clip(np.searchsorted(bins, pos_bins), 0, len(bins) - 1)
        hit = bins[rows] == pos_bins
        y[rows[hit], pos_feats[hit]] = 1
    return y


# --- staging rows per split --------------------------------------------------------------


@dataclass
class _Stage:
    """Rows of one split staged on disk: base codes (L bytes/row) and labels (F bytes/row)."""

    codes_path: Path
    labels_path: Path
    codes: BinaryIO
    labels: BinaryIO
    chrom_names: list[str] = field(default_factory=list)
    chrom_ids: list[np.ndarray] = field(default_factory=list)
    starts: list[np.ndarray] = field(default_factory=list)
    n: int = 0
    positives: np.ndarray | None = None
    n_negative: int = 0
    candidates: dict[str, int] = field(
        default_factory=lambda: {"usable_bins": 0, "positive_bins": 0, "dropped_for_n": 0}
    )


@contextlib.contextmanager
def _staging(out_dir: Path) -> Iterator[dict[str, _Stage]]:
    """Open the staging files of every split in a private folder removed on exit."""
    with (
        scratch_dir(out_dir / "staging") as tmp,
        contextlib.ExitStack() as files,
    ):
        stages = {}
        for split in SPLITS:
            codes_path = Path(tmp) / f"{split}.codes"
            labels_path = Path(tmp) / f"{split}.labels"
            stages[split] = _Stage(
                codes_path,
                labels_path,
                files.enter_context(open(codes_path, "wb")),
                files.enter_context(open(labels_path, "wb")),
            )
        with naming_write_errors(f"the staging files in {out_dir}"):
            yield stages


def _stage_chromosome(
    stage: _Stage,
    chrom: str,
    codes: np.ndarray,
    selection: ChromSelection,
    labels: tuple[np.ndarray, np.ndarray],
    *,
    bin_size: int,
    seq_len: int,
    n_features: int,
) -> None:
    starts = selection.bins * bin_size + window_offset(bin_size, seq_len)
    # A strided view of all windows: gathering rows needs no (rows x seq_len) index array.
    windows = np.lib.stride_tricks.sliding_window_view(codes, seq_len)
    for a in range(0, len(starts), _GATHER_ROWS):
        stage.codes.write(windows[starts[a : a + _GATHER_ROWS]].tobytes())
    y = label_rows(selection.bins, *labels, n_features)
    stage.labels.write(y.tobytes())
    positives = y.sum(axis=0, dtype=np.int64)
    stage.positives = positives if stage.positives is None else stage.positives + positives
    stage.chrom_ids.append(np.full(len(starts), len(stage.chrom_names), dtype=np.int64))
    stage.chrom_names.append(chrom)
    stage.starts.append(starts)
    stage.n += len(starts)
    stage.n_negative += selection.n_negative
    stage.candidates["usable_bins"] += selection.n_usable
    stage.candidates["positive_bins"] += selection.n_positive
    stage.candidates["dropped_for_n"] += selection.n_dropped_n


def _write_split(
    stage: _Stage,
    path: Path,
    order: np.ndarray,
    *,
    split: str,
    seq_len: int,
    bin_size: int,
    features: Sequence[Feature],
    chunk_size: int,
) -> None:
    n, n_feat = stage.n, len(features)
    ids = np.concatenate(stage.chrom_ids) if stage.chrom_ids else np.zeros(0, np.int64)
    starts = np.concatenate(stage.starts) if stage.starts else np.zeros(0, np.int64)
    names = np.array([c.encode() for c in stage.chrom_names] or [b""], dtype=np.bytes_)
    width = names.dtype.itemsize
    codes = _memmap(stage.codes_path, (n, seq_len))
    labels = _memmap(stage.labels_path, (n, n_feat))
    with h5py.File(path, "w") as h5:
        create_split_datasets(
            h5,
            n=n,
            seq_len=seq_len,
            features=features,
            chunk_size=chunk_size,
            bin_size=bin_size,
            split=split,
            source="bed",
            chrom_width=width,
        )
        h5["chrom"][:] = names[ids[order]]
        h5["start"][:] = starts[order]
        h5["end"][:] = starts[order] + seq_len
        step = write_block_rows(chunk_size, len(BASES) * seq_len)
        for a in tqdm(range(0, n, step), desc=f"writing {split}", unit="block", disable=None):
            rows = order[a : a + step]
            h5["x"][a : a + len(rows)] = one_hot_codes(codes[rows])
            h5["y"][a : a + len(rows)] = labels[rows]


def _memmap(path: Path, shape: tuple[int, int]) -> np.ndarray:
    if shape[0] == 0 or shape[1] == 0:
        return np.zeros(shape, np.uint8)  # np.memmap refuses empty files
    return np.memmap(path, dtype=np.uint8, mode="r", shape=shape)


# --- parameters and splits --------------------------------------------------------------


def _check_params(
    bin_size: int,
    seq_len: int,
    negative_fraction: float,
    chunk_size: int,
    max_n_fraction: float | None,
) -> None:
    if bin_size <= 0 or seq_len <= 0 or chunk_size <= 0:
        raise DatasetError(
            f"bin_size ({bin_size}), seq_len ({seq_len}) and chunk_size ({chunk_size}) "
            "must be positive"
        )
    if not 0.0 <= negative_fraction <= 1.0:
        raise DatasetError(f"negative_fraction must be in [0, 1], got {negative_fraction}")
    if max_n_fraction is not None and not 0.0 <= max_n_fraction <= 1.0:
        raise DatasetError(f"max_n_fraction must be in [0, 1] or None, got {max_n_fraction}")


def anchor_mask(
    features: Sequence[Feature], categories: Sequence[str] | None, features_tsv: Path
) -> np.ndarray:
    """Bool per feature: do its positives keep a bin? All True without ``categories``."""
    if not categories:
        return np.ones(len(features), dtype=bool)
    wanted = {c.upper() for c in categories}
    mask = np.array([f.category.upper() in wanted for f in features], dtype=bool)
    if not mask.any():
        present = sorted({f.category for f in features})
        raise DatasetError(
            f"no feature of {features_tsv} is in anchor categories {', '.join(categories)} "
            f"(its categories: {', '.join(present)})"
        )
    return mask


# --- entry point -----------------------------------------------------------------------


def segment_bins(segment: Segment, chrom_len: int, bin_size: int, seq_len: int) -> tuple[int, int]:
    """Half-open range of bins whose bin and window lie inside the chromosome and whose
    window lies wholly inside ``segment`` (no window straddles a split boundary)."""
    first, last = usable_bins(chrom_len, bin_size, seq_len)
    offset = window_offset(bin_size, seq_len)
    # window start = bin * bin_size + offset must be >= start, and + seq_len <= end.
    lo = -((offset - segment.start) // bin_size)  # ceil((start - offset) / bin_size)
    hi = (segment.end - seq_len - offset) // bin_size + 1
    first, last = max(first, lo), min(last, hi)
    return first, max(first, last)


def _sample_segments(
    stages: Mapping[str, _Stage],
    genome: object,
    segments: Sequence[Segment],
    labels: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    bin_size: int,
    seq_len: int,
    n_features: int,
    max_unknown: float,
    negative_fraction: float,
    anchor: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Choose the rows of every segment and stage them in its split (genome order).
    ``anchor`` (bool per feature) says which features' positives keep a bin."""
    offset = window_offset(bin_size, seq_len)
    codes, loaded = np.zeros(0, np.uint8), None
    with tqdm(total=len(segments), unit="segment", desc="sampling bins", disable=None) as bar:
        for segment in segments:
            if segment.chrom != loaded:
                # One read per chromosome: a whole chr1 is ~250 MB of codes.
                codes, loaded = chromosome_codes(genome, segment.chrom), segment.chrom
            first, last = segment_bins(segment, len(codes), bin_size, seq_len)
            window_starts = np.arange(first, last, dtype=np.int64) * bin_size + offset
            n_unknown = window_n_counts(codes == UNKNOWN, window_starts, seq_len)
            pos_bins, pos_feats = labels[segment.chrom]
            selection = select_bins(
                np.unique(pos_bins[anchor[pos_feats]]),
                first,
                last,
                n_unknown,
                max_unknown=max_unknown,
                negative_fraction=negative_fraction,
                rng=rng,
            )
            _stage_chromosome(
                stages[segment.split],
                segment.chrom,
                codes,
                selection,
                labels[segment.chrom],
                bin_size=bin_size,
                seq_len=seq_len,
                n_features=n_features,
            )
            bar.update()
    for stage in stages.values():
        stage.codes.flush()
        stage.labels.flush()


def make_dataset(
    fasta: Path,
    features_tsv: Path,
    bed_dir: Path,
    out_dir: Path,
    *,
    bin_size: int = 200,
    seq_len: int = 1000,
    valid_chroms: Sequence[str] = (),
    test_chroms: Sequence[str] = (),
    holdout_fraction: float | None = None,
    negative_fraction: float = 0.1,
    seed: int = 1,
    chunk_size: int = 256,
    chroms: Sequence[str] | None = None,
    max_n_fraction: float | None = 0.5,
    anchor_categories: Sequence[str] | None = None,
) -> dict:
    """Write ``out_dir/{train,valid,test}.h5``, ``features.tsv`` and ``dataset.json``.

    Returns the ``dataset.json`` content. Valid and test hold out chromosomes, regions or
    BED files of regions (``valid_chroms``/``test_chroms``, see :mod:`amber.data.splits`)
    or contiguous blocks of ``holdout_fraction`` of the genome each. A split with no rows,
    or with no positive of some feature, is an error. ``chroms`` restricts the
    chromosomes used (all FASTA records by default); windows with more than
    ``max_n_fraction`` unknown bases are dropped before negatives are sampled (None keeps
    them all). ``anchor_categories`` restricts the features whose positives keep a bin
    (None or empty: every feature).
    Bad input raises an :class:`~amber.data.genome.InputError` (FASTA, BED, holdouts) or a
    :class:`~amber.data.features.FeatureTableError`, naming the file and line.
    """
    fasta, features_tsv, bed_dir, out_dir = map(Path, (fasta, features_tsv, bed_dir, out_dir))
    _check_params(bin_size, seq_len, negative_fraction, chunk_size, max_n_fraction)
    params = {
        "fasta": str(fasta),
        "features_tsv": str(features_tsv),
        "bed_dir": str(bed_dir),
        "bin_size": bin_size,
        "seq_len": seq_len,
        "valid_chroms": list(valid_chroms),
        "test_chroms": list(test_chroms),
        "holdout_fraction": holdout_fraction,
        "negative_fraction": negative_fraction,
        "seed": seed,
        "chunk_size": chunk_size,
        "chroms": None if chroms is None else list(chroms),
        "max_n_fraction": max_n_fraction,
        "anchor_categories": list(anchor_categories or []),
    }
    # Cheap checks first, so that a typo fails in seconds rather than after the labelling.
    features = read_features(features_tsv)
    anchor = anchor_mask(features, anchor_categories, features_tsv)
    bed_paths = feature_bed_files(features, bed_dir, features_tsv)
    sizes = scan_fasta(fasta)
    segments = assign_segments(fasta, sizes, valid_chroms, test_chroms, chroms, holdout_fraction)
    used = list(dict.fromkeys(s.chrom for s in segments))
    labels = label_features(bed_paths, sizes, used, bin_size)
    rng = np.random.default_rng(seed)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        summary = _sample_and_write(
            fasta, sizes, segments, labels, features, anchor, rng, out_dir, bed_dir, params
        )
    except BaseException:
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()  # a refused run leaves no empty folder behind
        raise
    log.info("dataset rows: %s", summary["counts"])
    _warn_positive_rates(summary, bed_dir)
    return summary


def _sample_and_write(
    fasta: Path,
    sizes: Mapping[str, int],
    segments: Sequence[Segment],
    labels: Mapping[str, tuple[np.ndarray, np.ndarray]],
    features: Sequence[Feature],
    anchor: np.ndarray,
    rng: np.random.Generator,
    out_dir: Path,
    bed_dir: Path,
    params: dict,
) -> dict:
    bin_size, seq_len, chunk_size = params["bin_size"], params["seq_len"], params["chunk_size"]
    max_n_fraction = params["max_n_fraction"]
    with _staging(out_dir) as stages, open_fasta(fasta, sizes) as genome:
        _sample_segments(
            stages,
            genome,
            segments,
            labels,
            bin_size=bin_size,
            seq_len=seq_len,
            n_features=len(features),
            max_unknown=seq_len if max_n_fraction is None else max_n_fraction * seq_len,
            negative_fraction=params["negative_fraction"],
            anchor=anchor,
            rng=rng,
        )
        summary = _summary(stages, segments, features, params)
        _check_splits(summary, segments, bed_dir)
        with contextlib.ExitStack() as outputs:
            # Entered first, renamed last: dataset.json marks a complete dataset.
            json_tmp = outputs.enter_context(atomic_path(out_dir / "dataset.json"))
            features_tmp = outputs.enter_context(atomic_path(out_dir / "features.tsv"))
            for split in SPLITS:
                stage = stages[split]
                order = rng.permutation(stage.n) if split == "train" else np.arange(stage.n)
                _write_split(
                    stage,
                    outputs.enter_context(atomic_path(out_dir / f"{split}.h5")),
                    order,
                    split=split,
                    seq_len=seq_len,
                    bin_size=bin_size,
                    features=features,
                    chunk_size=chunk_size,
                )
            write_features(list(features), features_tmp)
            json_tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _check_splits(summary: dict, segments: Sequence[Segment], bed_dir: Path) -> None:
    """Every split has rows and a positive of every feature: otherwise training has
    nothing to learn from or the AUROC of a feature is undefined."""
    for split in SPLITS:
        where = shortlist([s.label() for s in segments if s.split == split]) or "none"
        if summary["counts"][split] == 0:
            raise DatasetError(
                f"the {split} split is empty (its regions: {where}); hold out other "
                "chromosomes or regions, or check seq_len against their lengths"
            )
        empty = [name for name, count in summary["positives"][split].items() if count == 0]
        if empty:
            raise DatasetError(
                f"the {split} split has no positive of feature(s) {shortlist(empty)} "
                f"(BEDs in {bed_dir}; its regions: {where}); hold out regions where these "
                "features have peaks, or leave the features out"
            )


def _warn_positive_rates(summary: dict, bed_dir: Path) -> None:
    """Train and valid positive rates that differ more than 2x make the validation loss
    a poor guide (e.g. negatives subsampled differently); say which features."""
    train, valid = summary["positive_rate"]["train"], summary["positive_rate"]["valid"]
    off = [n for n in train if max(train[n], valid[n]) > 2 * min(train[n], valid[n])]
    if off:
        log.warning(
            "%s: positive rate differs more than 2x between train and valid for %s",
            bed_dir,
            shortlist([f"{n} ({train[n]:.3f} vs {valid[n]:.3f})" for n in off]),
        )


def _summary(
    stages: Mapping[str, _Stage],
    segments: Sequence[Segment],
    features: Sequence[Feature],
    params: dict,
) -> dict:
    names = [f.name for f in features]
    positives, rates = {}, {}
    for split, stage in stages.items():
        counts = stage.positives if stage.positives is not None else np.zeros(len(names), int)
        positives[split] = {name: int(c) for name, c in zip(names, counts, strict=True)}
        rates[split] = {n: round(c / max(stage.n, 1), 6) for n, c in positives[split].items()}
    return {
        "source": "bed",
        "seq_len": params["seq_len"],
        "bin_size": params["bin_size"],
        "base_order": BASES,
        "features": names,
        "counts": {split: stage.n for split, stage in stages.items()},
        "negatives": {split: stage.n_negative for split, stage in stages.items()},
        "positives": positives,
        "positive_rate": rates,
        "chromosomes": {
            s: list(dict.fromkeys(g.chrom for g in segments if g.split == s)) for s in SPLITS
        },
        "regions": {s: [g.label() for g in segments if g.split == s] for s in SPLITS},
        "candidates": {split: dict(stage.candidates) for split, stage in stages.items()},
        "params": params,
    }
