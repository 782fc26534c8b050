"""Streaming mini-batches from the one-hot HDF5 dataset files.

Dataset contract (see ``make_dataset``): ``x`` uint8 ``(N, 4, L)`` one-hot A,C,G,T with an
all-zero column for N bases, ``y`` uint8 ``(N, F)``, both chunked along N.

Shuffling is two-level, as in Selene/tf.data style loaders for data larger than memory:
the chunk-aligned row blocks are visited in a random order (seeded by ``(seed, epoch)``)
and the rows of ``buffer_chunks`` consecutive blocks are shuffled together. Every read is
a contiguous, chunk-aligned slice (HDF5 fancy indexing is slow), every row is seen exactly
once per epoch, and memory stays at about one buffer however large the file is.

:func:`iter_batches` is the plain generator; :class:`H5Batches` wraps it for
``torch.utils.data.DataLoader(ds, batch_size=None, num_workers=k)``;
:func:`batches_for_step` gives the NAS controller a fixed stream of batches per step so a
resumed search sees the same data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

Batch = tuple[torch.Tensor, torch.Tensor]
PathLike = str | Path

# Raw chunk cache off: we read every chunk exactly once as a whole, so HDF5's cache would
# only add a memcpy (chunks of <= 1 MiB otherwise go through it).
_H5_OPEN = {"rdcc_nbytes": 0}


def to_float(x: torch.Tensor) -> torch.Tensor:
    """One-hot uint8 ``(..., 4, L)`` -> float32; all-zero (N) columns become 0.25 each.

    0.25 in every channel for an unknown base is Selene's convention. Vectorised: one
    uint8 OR-reduction for the mask, one converting copy, one in-place masked add.
    """
    if x.shape[-2] != 4:
        raise ValueError(f"expected 4 channels in dim -2, got shape {tuple(x.shape)}")
    unknown = (x.select(-2, 0) | x.select(-2, 1) | x.select(-2, 2) | x.select(-2, 3)) == 0
    out = torch.empty(x.shape, dtype=torch.float32)
    out.copy_(x)
    out.add_(unknown.unsqueeze(-2), alpha=0.25)
    return out


def reverse_complement(x: torch.Tensor) -> torch.Tensor:
    """One-hot ``(..., 4, L)`` in A,C,G,T order -> its reverse complement: the base axis
    reversed (A<->T, C<->G) and the positions reversed. Unknown (all-zero or 0.25)
    columns stay unknown."""
    if x.shape[-2] != 4:
        raise ValueError(f"expected 4 channels in dim -2, got shape {tuple(x.shape)}")
    return x.flip(dims=(-2, -1))


def with_reverse_complement(x: torch.Tensor, y: torch.Tensor) -> Batch:
    """A batch followed by the reverse complement of each of its samples, same labels:
    reverse-complement augmentation for strand-symmetric features (TF binding, DNase)."""
    return torch.cat([x, reverse_complement(x)]), torch.cat([y, y])


def _chunk_rows(dataset: h5py.Dataset) -> int:
    """Rows per HDF5 chunk; contiguous datasets are read in 1024-row blocks."""
    return int(dataset.chunks[0]) if dataset.chunks else 1024


def _decode_features(raw: object) -> list[str]:
    """Feature names from the ``features`` attribute (array of str/bytes or a JSON list)."""
    if raw is None:
        return []
    if isinstance(raw, bytes):
        raw = raw.decode()
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return [line for line in raw.splitlines() if line]
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return _as_str(raw)


def _as_str(values: object) -> list[str]:
    """HDF5 strings (bytes or str, any shape) as Python str, flattened."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel()]


def positive_rates(path: PathLike, chunk_rows: int = 65536) -> np.ndarray:
    """Share of positive rows per feature, (F,) float64, read in row chunks (the paper's
    4.4 M x 919 labels would be 4 GB at once)."""
    with h5py.File(path, "r") as handle:
        y = handle["y"]
        n = y.shape[0]
        if n == 0:
            raise ValueError(f"{path}: no rows")
        totals = np.zeros(y.shape[1], dtype=np.float64)
        for start in range(0, n, chunk_rows):
            totals += y[start : start + chunk_rows].sum(axis=0, dtype=np.float64)
    return totals / n


def dataset_info(path: PathLike) -> dict:
    """Shape and metadata of a dataset file without reading its arrays.

    Keys: ``n_samples`` (N), ``n_features`` (F), ``seq_len`` (L), ``features`` (names, in
    output order), ``chunk_rows``, and ``split``/``bin_size`` when the file records them.
    """
    with h5py.File(path, "r") as handle:
        x, y = handle["x"], handle["y"]
        attrs = handle.attrs
        info = {
            "n_samples": int(x.shape[0]),
            "n_features": int(y.shape[1]),
            "seq_len": int(x.shape[2]),
            "features": _decode_features(attrs.get("features")),
            "chunk_rows": _chunk_rows(x),
        }
        for key in ("split", "bin_size"):
            if key in attrs:
                info[key] = _plain(attrs[key])
        return info


def _plain(value: object) -> object:
    """An HDF5 attribute as a plain Python value (JSON-friendly)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _epoch_blocks(
    n_rows: int,
    chunk: int,
    key: Sequence[int],
    shuffle: bool,
    max_samples: int | None,
) -> list[tuple[int, int]]:
    """Chunk-aligned ``(start, stop)`` row blocks in visiting order, cut at ``max_samples``."""
    starts = np.arange(0, n_rows, chunk)
    if shuffle:
        starts = starts[np.random.default_rng(list(key)).permutation(len(starts))]
    blocks: list[tuple[int, int]] = []
    budget = n_rows if max_samples is None else min(max_samples, n_rows)
    for start in starts.tolist():
        if budget <= 0:
            break
        stop = min(start + chunk, n_rows, start + budget)
        blocks.append((start, stop))
        budget -= stop - start
    return blocks


def _check_args(seed: int, epoch: int, batch_size: int, buffer_chunks: int) -> None:
    # Checked eagerly: the generators below only run on the first next().
    if seed < 0 or epoch < 0:
        raise ValueError(f"seed and epoch must be >= 0, got seed={seed}, epoch={epoch}")
    if batch_size < 1 or buffer_chunks < 1:
        raise ValueError(
            f"batch_size and buffer_chunks must be >= 1, got {batch_size}, {buffer_chunks}"
        )


def _batches(
    path: PathLike,
    batch_size: int,
    key: Sequence[int],
    *,
    shuffle: bool,
    buffer_chunks: int,
    max_samples: int | None,
    drop_last: bool,
    shard: tuple[int, int],
) -> Iterator[Batch]:
    worker, n_workers = shard
    with h5py.File(path, "r", **_H5_OPEN) as handle:
        xd, yd = handle["x"], handle["y"]
        chunk = _chunk_rows(xd)
        blocks = _epoch_blocks(xd.shape[0], chunk, key, shuffle, max_samples)
        blocks = blocks[worker::n_workers]
        # Each buffer holds at least one batch; rows left over after the last full batch
        # of a buffer are carried to the front of the next one.
        per_buffer = max(buffer_chunks, math.ceil(batch_size / chunk))
        capacity = per_buffer * chunk + batch_size
        xbuf = np.empty((capacity, *xd.shape[1:]), dtype=np.uint8)
        ybuf = np.empty((capacity, *yd.shape[1:]), dtype=np.uint8)
        xt, yt = torch.from_numpy(xbuf), torch.from_numpy(ybuf)
        rng = np.random.default_rng([*key, worker, n_workers])
        carry = 0
        for first in range(0, len(blocks), per_buffer):
            fill = carry
            for start, stop in blocks[first : first + per_buffer]:
                rows = np.s_[fill : fill + stop - start]
                xd.read_direct(xbuf, np.s_[start:stop], rows)
                yd.read_direct(ybuf, np.s_[start:stop], rows)
                fill += stop - start
            order = torch.from_numpy(rng.permutation(fill) if shuffle else np.arange(fill))
            n_full = fill // batch_size
            for b in range(n_full):
                idx = order[b * batch_size : (b + 1) * batch_size]
                yield to_float(xt.index_select(0, idx)), yt.index_select(0, idx).float()
            rest = order[n_full * batch_size :]
            carry = len(rest)
            # index_select copies before the assignment, so the overlap is safe.
            xt[:carry] = xt.index_select(0, rest)
            yt[:carry] = yt.index_select(0, rest)
        if carry and not drop_last:
            yield to_float(xt[:carry]), yt[:carry].float()


def iter_batches(
    path: PathLike,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    shuffle: bool = True,
    buffer_chunks: int = 16,
    max_samples: int | None = None,
    drop_last: bool = False,
    shard: tuple[int, int] = (0, 1),
) -> Iterator[Batch]:
    """Yield ``(x float32 (B, 4, L), y float32 (B, F))`` batches for one epoch.

    The order is a pure function of ``(seed, epoch, shard)`` and the file, so any consumer
    can replay it (e.g. a resumed run). ``max_samples`` ends the epoch after that many rows
    (whole blocks taken in the shuffled order, so each epoch sees a different subset).
    ``shard=(i, k)`` keeps every k-th block starting at block i, which splits one epoch
    among k readers without overlap. The file is opened on the first ``next()``.
    """
    _check_args(seed, epoch, batch_size, buffer_chunks)
    worker, n_workers = shard
    if not 0 <= worker < n_workers:
        raise ValueError(f"shard must be (i, k) with 0 <= i < k, got {shard}")
    return _batches(
        path,
        batch_size,
        (seed, epoch),
        shuffle=shuffle,
        buffer_chunks=buffer_chunks,
        max_samples=max_samples,
        drop_last=drop_last,
        shard=shard,
    )


def batches_for_step(
    path: PathLike,
    batch_size: int,
    n_batches: int,
    *,
    seed: int,
    step: int,
    buffer_chunks: int = 16,
) -> Iterator[Batch]:
    """Exactly ``n_batches`` shuffled batches for NAS controller step ``step``.

    The first pass is ``iter_batches(seed=seed, epoch=step)``, so the data of a step is
    fixed and a resumed search replays it. When one pass is too short the stream goes on
    with further passes (keyed by ``(seed, step, pass)``); their last partial batches are
    dropped so every batch has ``batch_size`` rows (unless the file has fewer rows).
    Only about one buffer is read per ``buffer_chunks`` chunks consumed.
    """
    _check_args(seed, step, batch_size, buffer_chunks)
    n_rows = dataset_info(path)["n_samples"]
    if n_batches < 0:
        raise ValueError(f"n_batches must be >= 0, got {n_batches}")
    if n_rows == 0 and n_batches > 0:
        raise ValueError(f"{path}: no rows to draw {n_batches} batches from")
    return _step_stream(path, batch_size, n_batches, seed, step, buffer_chunks, n_rows)


def _step_stream(
    path: PathLike,
    batch_size: int,
    n_batches: int,
    seed: int,
    step: int,
    buffer_chunks: int,
    n_rows: int,
) -> Iterator[Batch]:
    produced, n_pass = 0, 0
    while produced < n_batches:
        key = (seed, step) if n_pass == 0 else (seed, step, n_pass)
        stream = _batches(
            path,
            batch_size,
            key,
            shuffle=True,
            buffer_chunks=buffer_chunks,
            max_samples=None,
            drop_last=n_rows >= batch_size,
            shard=(0, 1),
        )
        try:
            for batch in stream:
                yield batch
                produced += 1
                if produced == n_batches:
                    break
        finally:
            stream.close()  # closes the HDF5 file now, not at garbage collection
        n_pass += 1


class H5Batches(IterableDataset):
    """Shuffled batches of one dataset file, for ``DataLoader(ds, batch_size=None)``.

    With ``num_workers=k`` each worker reads every k-th block of the epoch's block order
    (opening its own HDF5 handle), so the epoch still covers each row exactly once. Call
    :meth:`set_epoch` before each epoch; with ``persistent_workers=True`` workers keep the
    epoch they started with, so leave that off.

    Memory is about ``buffer_chunks * chunk_rows * (4 * L + F)`` bytes per reader. On CPU
    ``num_workers=0`` is the fastest setting (benchmarks/loader_throughput.py): workers
    must pass each 16 MB float batch between processes.
    """

    def __init__(
        self,
        path: PathLike,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        buffer_chunks: int = 16,
        max_samples: int | None = None,
        drop_last: bool = False,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.buffer_chunks = buffer_chunks
        self.max_samples = max_samples
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        shard = (0, 1) if info is None else (info.id, info.num_workers)
        return iter_batches(
            self.path,
            self.batch_size,
            seed=self.seed,
            epoch=self.epoch,
            shuffle=self.shuffle,
            buffer_chunks=self.buffer_chunks,
            max_samples=self.max_samples,
            drop_last=self.drop_last,
            shard=shard,
        )


def read_subsample(path: PathLike, n: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random subset of ``n`` rows (all rows if ``n`` is None or >= N).

    Returns ``(x float32 (n, 4, L), y float32 (n, F))`` in file order. Indices are sorted
    and read one chunk span at a time, never with HDF5 fancy indexing.
    """
    with h5py.File(path, "r", **_H5_OPEN) as handle:
        xd, yd = handle["x"], handle["y"]
        n_rows = xd.shape[0]
        chunk = _chunk_rows(xd)
        if n is None or n >= n_rows:
            idx = np.arange(n_rows)
        else:
            if n < 0:
                raise ValueError(f"n must be >= 0, got {n}")
            idx = np.sort(np.random.default_rng(seed).choice(n_rows, size=n, replace=False))
        x = np.empty((len(idx), *xd.shape[1:]), dtype=np.uint8)
        y = np.empty((len(idx), *yd.shape[1:]), dtype=np.uint8)
        # Group the sorted indices by chunk; read each group's [first, last] span once.
        cuts = np.flatnonzero(np.diff(idx // chunk)) + 1
        pos = 0
        for group in np.split(idx, cuts) if len(idx) else []:
            lo, hi = int(group[0]), int(group[-1]) + 1
            k = len(group)
            if hi - lo == k:  # dense span: read straight into the output
                xd.read_direct(x, np.s_[lo:hi], np.s_[pos : pos + k])
                yd.read_direct(y, np.s_[lo:hi], np.s_[pos : pos + k])
            else:
                x[pos : pos + k] = xd[lo:hi][group - lo]
                y[pos : pos + k] = yd[lo:hi][group - lo]
            pos += k
    return to_float(torch.from_numpy(x)), torch.from_numpy(y).float()


def read_coordinates(path: PathLike) -> dict[str, np.ndarray]:
    """Every row's input window: ``chrom`` (str), ``start`` and ``end`` (0-based,
    half-open), in file order. A dataset imported without coordinates (DeepSEA's .mat)
    holds ``chrom`` "NA" and ``start``/``end`` -1."""
    with h5py.File(path, "r", **_H5_OPEN) as handle:
        missing = [k for k in ("chrom", "start", "end") if k not in handle]
        if missing:
            raise ValueError(f"{path}: no {', '.join(missing)} dataset (window coordinates)")
        chrom = handle["chrom"][:]
        coords = {k: handle[k][:] for k in ("start", "end")}
    coords["chrom"] = np.array(_as_str(chrom))
    return coords
