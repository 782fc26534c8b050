"""Throughput of the HDF5 training loader (amber.data.loader.H5Batches).

Writes a realistic dataset into a temporary folder (default 100,000 rows of 4 x 1000
one-hot uint8 and 919 uint8 labels, for each chunk size tried), reads it for two shuffled
epochs at batch size 1000 with several DataLoader worker counts, and writes
``benchmarks/results/loader_throughput.json`` (flat keys; ``loader_samples_per_s`` is the
best configuration). The file is read while still in the page cache, so this measures the
loader (HDF5 reads, shuffling, float conversion), not the disk.

    .venv/bin/python benchmarks/loader_throughput.py [--rows N] [--chunks 256 1024 4096]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader

from amber.data.loader import H5Batches
from amber.fileio import atomic_path

SEQ_LEN = 1000
N_FEATURES = 919
DEFAULT_OUT = Path(__file__).parent / "results" / "loader_throughput.json"


def write_dataset(path: Path, n_rows: int, chunk: int, seed: int = 0) -> None:
    """Random one-hot sequences (20% N columns) and sparse labels, written block-wise."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as handle:
        x = handle.create_dataset(
            "x", (n_rows, 4, SEQ_LEN), dtype=np.uint8, chunks=(min(chunk, n_rows), 4, SEQ_LEN)
        )
        y = handle.create_dataset(
            "y", (n_rows, N_FEATURES), dtype=np.uint8, chunks=(min(chunk, n_rows), N_FEATURES)
        )
        handle.attrs["seq_len"] = SEQ_LEN
        handle.attrs["split"] = "train"
        step = 8192
        for start in range(0, n_rows, step):
            stop = min(start + step, n_rows)
            bases = rng.integers(0, 5, size=(stop - start, SEQ_LEN), dtype=np.uint8)
            block = np.zeros((stop - start, 5, SEQ_LEN), dtype=np.uint8)
            np.put_along_axis(block, bases[:, None, :], 1, axis=1)
            x[start:stop] = block[:, :4]  # base index 4 -> all-zero N column
            y[start:stop] = rng.random((stop - start, N_FEATURES)) < 0.02


def measure(path: Path, batch_size: int, workers: int, epochs: int) -> float:
    """Samples per second over ``epochs`` shuffled epochs, worker start-up included."""
    dataset = H5Batches(path, batch_size, shuffle=True, seed=0)
    n_seen = 0
    start = time.perf_counter()
    for epoch in range(epochs):
        dataset.set_epoch(epoch)
        loader = DataLoader(dataset, batch_size=None, num_workers=workers)
        for x, y in loader:
            n_seen += x.shape[0]
            assert x.dtype == torch.float32 and y.shape[0] == x.shape[0]
    return n_seen / (time.perf_counter() - start)


def versions() -> dict[str, str | int]:
    return {
        "machine_platform": platform.platform(),
        "machine_processor": platform.processor() or platform.machine(),
        "machine_cpu_count": os.cpu_count() or 0,
        "torch_num_threads": torch.get_num_threads(),
        "python_version": platform.python_version(),
        "torch_version": torch.__version__,
        "h5py_version": h5py.__version__,
        "hdf5_version": h5py.version.hdf5_version,
        "numpy_version": np.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--chunks", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    result: dict[str, object] = {
        "benchmark": "loader_throughput",
        "batch_size": args.batch_size,
        "n_rows": args.rows,
        "seq_len": SEQ_LEN,
        "n_features": N_FEATURES,
        "epochs": args.epochs,
        "shuffle": True,
    }
    best_key, best = "", 0.0
    with tempfile.TemporaryDirectory(prefix="amber_loader_bench_") as tmp:
        for chunk in args.chunks:
            path = Path(tmp) / f"train_chunk{chunk}.h5"
            t0 = time.perf_counter()
            write_dataset(path, args.rows, chunk)
            print(f"chunk {chunk}: wrote {args.rows} rows in {time.perf_counter() - t0:.1f} s")
            for workers in args.workers:
                rate = measure(path, args.batch_size, workers, args.epochs)
                key = f"chunk{chunk}_workers{workers}_samples_per_s"
                result[key] = round(rate, 1)
                print(f"  workers={workers}: {rate:,.0f} samples/s")
                if rate > best:
                    best_key, best = key, rate
            path.unlink()
    result["loader_samples_per_s"] = round(best, 1)
    result["best_config"] = best_key.removesuffix("_samples_per_s")
    result.update(versions())
    with atomic_path(args.out) as tmp_out:
        tmp_out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"best: {best_key} = {best:,.0f} samples/s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
