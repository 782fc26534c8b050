"""Tests for amber.data.loader on small HDF5 files whose rows encode their own index."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from amber.data.loader import (
    H5Batches,
    batches_for_step,
    dataset_info,
    iter_batches,
    positive_rates,
    read_coordinates,
    read_subsample,
    to_float,
)

SEQ_LEN = 8  # 7 columns hold the row index in base 4, the last one is always N
FEATURES = ["f0", "f1", "f2"]


def write_h5(path: Path, n: int, chunk: int | None = 16) -> Path:
    """Row i: x spells i in base 4 (then one N column); y = (i % 256, i // 256, 1)."""
    idx = np.arange(n)
    digits = (idx[:, None] >> (2 * np.arange(SEQ_LEN - 1))) & 3
    x = np.zeros((n, 4, SEQ_LEN), dtype=np.uint8)
    np.put_along_axis(x[:, :, : SEQ_LEN - 1], digits[:, None, :], 1, axis=1)
    y = np.stack([idx % 256, idx // 256, np.ones(n, dtype=int)], axis=1).astype(np.uint8)
    with h5py.File(path, "w") as handle:
        kw = {"chunks": (chunk, 4, SEQ_LEN)} if chunk else {}
        handle.create_dataset("x", data=x, **kw)
        kw = {"chunks": (chunk, len(FEATURES))} if chunk else {}
        handle.create_dataset("y", data=y, **kw)
        handle.attrs["seq_len"] = SEQ_LEN
        handle.attrs["bin_size"] = 4
        handle.attrs["split"] = "train"
        handle.attrs["features"] = np.array(FEATURES, dtype=h5py.string_dtype())
    return path


def rows_of(x: torch.Tensor, y: torch.Tensor) -> list[int]:
    """Decode the row indices from a batch and check x and y agree."""
    assert x.dtype == torch.float32 and y.dtype == torch.float32
    assert torch.all(x[:, :, -1] == 0.25)
    from_x = (x[:, :, :-1].argmax(dim=1) * (4 ** torch.arange(SEQ_LEN - 1))).sum(dim=1)
    from_y = (y[:, 0] + 256 * y[:, 1]).long()
    assert torch.equal(from_x, from_y), "x and y rows were separated"
    return from_x.tolist()


def epoch_rows(path: Path, **kw) -> list[list[int]]:
    kw = {"seed": 0, "epoch": 0, "buffer_chunks": 3} | kw
    return [rows_of(x, y) for x, y in iter_batches(path, kw.pop("batch_size", 10), **kw)]


@pytest.fixture
def h5(tmp_path: Path) -> Path:
    return write_h5(tmp_path / "train.h5", 203)  # 12 full chunks of 16 and one of 11


def test_to_float_marks_unknown_bases() -> None:
    x = torch.zeros(2, 4, 3, dtype=torch.uint8)
    x[0, 1, 0] = 1
    x[1, 3, 2] = 1
    out = to_float(x)
    assert out.dtype == torch.float32
    assert out[0, :, 0].tolist() == [0, 1, 0, 0]
    assert out[1, :, 2].tolist() == [0, 0, 0, 1]
    assert torch.all(out[0, :, 1:] == 0.25) and torch.all(out[1, :, :2] == 0.25)
    assert to_float(x[0]).shape == (4, 3)
    with pytest.raises(ValueError):
        to_float(torch.zeros(2, 3, 5, dtype=torch.uint8))


def test_epoch_has_every_row_once_in_full_batches(h5: Path) -> None:
    batches = epoch_rows(h5)
    assert [len(b) for b in batches] == [10] * 20 + [3]
    rows = [r for b in batches for r in b]
    assert sorted(rows) == list(range(203))
    assert rows != sorted(rows)


def test_order_is_a_function_of_seed_and_epoch(h5: Path) -> None:
    first = epoch_rows(h5, seed=1, epoch=0)
    assert epoch_rows(h5, seed=1, epoch=0) == first
    assert epoch_rows(h5, seed=1, epoch=1) != first
    assert epoch_rows(h5, seed=2, epoch=0) != first


def test_no_shuffle_reads_in_file_order(h5: Path) -> None:
    rows = [r for b in epoch_rows(h5, shuffle=False, batch_size=64) for r in b]
    assert rows == list(range(203))


def test_batch_larger_than_buffer_and_drop_last(h5: Path) -> None:
    batches = epoch_rows(h5, batch_size=50, buffer_chunks=1, drop_last=True)
    assert [len(b) for b in batches] == [50] * 4
    assert len({r for b in batches for r in b}) == 200


def test_max_samples_takes_a_fresh_subset_each_epoch(h5: Path) -> None:
    a = [r for b in epoch_rows(h5, max_samples=40, epoch=0) for r in b]
    b = [r for b in epoch_rows(h5, max_samples=40, epoch=1) for r in b]
    assert len(a) == len(set(a)) == 40 and len(b) == 40
    assert set(a) != set(b)


def test_shards_split_the_epoch(h5: Path) -> None:
    shards = [[r for b in epoch_rows(h5, shard=(i, 3)) for r in b] for i in range(3)]
    assert sorted(sum(shards, [])) == list(range(203))
    with pytest.raises(ValueError):
        iter_batches(h5, 10, seed=0, epoch=0, shard=(3, 3))
    with pytest.raises(ValueError):
        iter_batches(h5, 10, seed=-1, epoch=0)


def test_unchunked_file(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "flat.h5", 30, chunk=None)
    assert sorted(r for b in epoch_rows(path) for r in b) == list(range(30))


def test_dataset_yields_the_same_epochs(h5: Path) -> None:
    ds = H5Batches(h5, 10, seed=3, buffer_chunks=2)
    ds.set_epoch(4)
    rows = [rows_of(x, y) for x, y in DataLoader(ds, batch_size=None)]
    assert rows == epoch_rows(h5, seed=3, epoch=4, buffer_chunks=2)


def test_dataloader_workers_cover_every_row_once(h5: Path) -> None:
    ds = H5Batches(h5, 10, seed=5, buffer_chunks=2)
    ds.set_epoch(1)

    def run() -> list[int]:
        loader = DataLoader(ds, batch_size=None, num_workers=2)
        return [r for x, y in loader for r in rows_of(x, y)]

    rows = run()
    assert sorted(rows) == list(range(203))
    assert run() == rows


def test_batches_for_step_is_fixed_and_cycles(h5: Path) -> None:
    steps = [rows_of(x, y) for x, y in batches_for_step(h5, 10, 25, seed=0, step=7)]
    assert len(steps) == 25 and all(len(b) == 10 for b in steps)
    assert steps[:20] == epoch_rows(h5, seed=0, epoch=7, buffer_chunks=16)[:20]
    again = [rows_of(x, y) for x, y in batches_for_step(h5, 10, 25, seed=0, step=7)]
    assert again == steps
    other = [rows_of(x, y) for x, y in batches_for_step(h5, 10, 3, seed=0, step=8)]
    assert other != steps[:3]


def test_read_subsample(h5: Path) -> None:
    x, y = read_subsample(h5, 37, seed=4)
    rows = rows_of(x, y)
    assert len(rows) == 37 and rows == sorted(set(rows))
    x2, y2 = read_subsample(h5, 37, seed=4)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert rows_of(*read_subsample(h5, 37, seed=5)) != rows
    assert rows_of(*read_subsample(h5, None, seed=0)) == list(range(203))
    assert rows_of(*read_subsample(h5, 10_000, seed=0)) == list(range(203))
    assert read_subsample(h5, 0, seed=0)[0].shape == (0, 4, SEQ_LEN)


def test_dataset_info(h5: Path) -> None:
    info = dataset_info(h5)
    assert info["n_samples"] == 203 and info["n_features"] == 3 and info["seq_len"] == SEQ_LEN
    assert info["features"] == FEATURES
    assert info["chunk_rows"] == 16 and info["split"] == "train" and info["bin_size"] == 4


def test_reverse_complement_augmentation_pairs_each_sample_with_its_rc() -> None:
    from amber.data.loader import with_reverse_complement

    seqs = ["ACGTNA", "GGATCC", "TTTACN"]
    comp = str.maketrans("ACGTN", "TGCAN")
    codes = "ACGT"

    def encode(seq: str) -> torch.Tensor:
        x = torch.zeros(4, len(seq), dtype=torch.uint8)
        for i, base in enumerate(seq):
            if base in codes:
                x[codes.index(base), i] = 1
        return x

    x = torch.stack([encode(s) for s in seqs])
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    xa, ya = with_reverse_complement(x, y)
    assert xa.shape == (6, 4, 6) and torch.equal(xa[:3], x)
    for i, seq in enumerate(seqs):
        assert torch.equal(xa[3 + i], encode(seq.translate(comp)[::-1])), seq
    assert torch.equal(ya, torch.cat([y, y]))
    assert torch.equal(with_reverse_complement(xa[3:], y)[0][3:], x)  # an involution


def test_positive_rates_read_in_chunks(h5: Path) -> None:
    with h5py.File(h5) as handle:
        expected = handle["y"][:].mean(axis=0)
    np.testing.assert_allclose(positive_rates(h5, chunk_rows=7), expected)
    np.testing.assert_allclose(positive_rates(h5), expected)


def test_read_coordinates(h5: Path) -> None:
    """Windows as stored (chrom bytes -> str); a file without them is refused by name."""
    n = dataset_info(h5)["n_samples"]
    with pytest.raises(ValueError, match="no chrom, start, end dataset"):
        read_coordinates(h5)
    with h5py.File(h5, "a") as handle:
        handle.create_dataset("chrom", data=np.where(np.arange(n) % 2, b"chr2", b"chr1"))
        handle.create_dataset("start", data=np.arange(n) * 100)
        handle.create_dataset("end", data=np.arange(n) * 100 + SEQ_LEN)
    coords = read_coordinates(h5)
    assert coords["chrom"][:3].tolist() == ["chr1", "chr2", "chr1"]
    assert coords["start"][5] == 500 and coords["end"][5] == 500 + SEQ_LEN
