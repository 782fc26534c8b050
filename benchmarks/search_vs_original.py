"""This project's search beside the original AMBER (amber-automl 0.1.5), same data and settings.

One command, outside CI:

    .venv/bin/python benchmarks/search_vs_original.py            # ~15 min on 1 core each

1. Installs the original into its own virtualenv (``--peer-venv``, default
   ``~/.cache/amber-peer-venv``; the recipe of ``benchmarks/peer/amber_peer.py``'s README:
   torch 2.13.0 pinned, pytorch-lightning 1.8.6, numpy<2, ...) unless it imports already.
2. Draws the runner's synthetic data (``make_data``: 8 planted 12-mers, 1000 bp, 4000
   training + 1000 validation rows) with the original's own function in its venv and writes
   it into this project's HDF5 datasets.
3. Writes a model space matching the runner's supernet: 6 layers x 7 ops (conv k8/k4,
   dilated k8/k4 with dilation 10, max/avg pool 5, identity), residual skips, filters
   16 -> 32 -> 64 with a x4 reduction per block, stem conv k8, global-average-pool head
   with 64 hidden units, and no dropout between layers (the original's PyTorch supernet
   has none).
4. Runs both searches alternately, ``--pairs`` times (first the original, then ours; the
   next pair the other way round), with the same thread count (``--threads``, default 1),
   batch 128, one pass over the 4000 training rows per controller step, 4 architectures
   scored per step on all 1000 validation rows, no warm-up, ``--steps`` steps.
5. Writes the ratios (medians over the pairs) and both systems' raw figures, with load
   averages, machine and versions, to ``benchmarks/results/search_vs_original.json``:
   ``search_train_over_original`` (supernet-training samples/s), ``search_score_over_original``
   (architecture-scoring samples/s), ``step_wall_original_over_ours`` (median wall time of a
   controller step) and ``rss_step20_over_step5`` (our peak RSS after step 20 over after
   step 5, from the per-step column of history.csv).

Our search runs in the precision it would choose by default (``--bf16``: bfloat16 where
the CPU has it natively); ``--no-bf16`` measures float32 instead. The original has no
bf16 path on CPU.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_info, write_result  # noqa: E402

from amber.data.dataset import create_split_datasets  # noqa: E402
from amber.data.features import Feature  # noqa: E402

RUNNER = ROOT / "benchmarks" / "peer" / "amber_peer.py"
N_LABELS = 8  # make_data's default
PEER_PACKAGES = [
    "amber-automl==0.1.5",
    "pytorch-lightning==1.8.6",
    "torchmetrics==0.11.4",
    "numpy<2",
    "matplotlib<3.7",
    "setuptools>=77.0.3,<81",
    "pandas",
    "h5py",
    "scipy",
    "scikit-learn",
    "seaborn",
    "expecttest",
]
SPACE_YAML = """\
# The original AMBER runner's supernet (benchmarks/peer/amber_peer.py), in this project's terms.
name: amber_peer
num_layers: 6
layers_per_block: 2
filters: [16, 32, 64]
reduction_pool: 4
stem: {kernel: 8}
ops:
  conv8:    {type: conv, kernel: 8}
  conv4:    {type: conv, kernel: 4}
  dilconv8: {type: conv, kernel: 8, dilation: 10}
  dilconv4: {type: conv, kernel: 4, dilation: 10}
  maxpool5: {type: maxpool, size: 5}
  avgpool5: {type: avgpool, size: 5}
  identity: {type: identity}
skips: {enabled: true, max_lookback: null}
layer_dropout: 0.0
head: {pool: global_avg, hidden: 64, dropout: 0.1}
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=2, help="alternated runs of each (default 2)")
    p.add_argument("--steps", type=int, default=20, help="controller steps per run (default 20)")
    p.add_argument("--threads", type=int, default=1, help="torch threads for both (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-train", type=int, default=4000)
    p.add_argument("--n-val", type=int, default=1000)
    p.add_argument("--seq-len", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--archs-per-step", type=int, default=4)
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--peer-venv", type=Path, default=Path.home() / ".cache/amber-peer-venv")
    p.add_argument("--work", type=Path, default=ROOT / "results/bench_search_vs_original")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/search_vs_original.json")
    return p.parse_args(argv)


# --------------------------------------------------------------------------- set-up


def peer_python(venv: Path) -> Path:
    """The original's interpreter, installing its virtualenv first when needed."""
    python = venv / "bin" / "python"
    # np.bool: the runner's patch P1 (amber 0.1.5 uses an alias numpy >= 1.24 removed)
    imports = "import numpy as np; np.bool = np.bool_; import amber, pytorch_lightning"
    check = [str(python), "-c", imports]
    env = dict(os.environ, AMBBACKEND="pytorch")
    # Run from the venv folder: from the repository, `import amber` would find this project.
    if (
        python.exists()
        and subprocess.run(check, env=env, capture_output=True, cwd=venv).returncode == 0
    ):
        return python
    print(f"[setup] installing amber-automl 0.1.5 into {venv} (~1 min)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)  # pinned: never a CUDA build
    pin = venv / "torch-pin.txt"
    pin.write_text("torch==2.13.0\n")
    subprocess.run([*pip, "-c", str(pin), *PEER_PACKAGES], check=True)
    subprocess.run(check, env=env, check=True, cwd=venv)
    return python


def write_data(python: Path, args: argparse.Namespace) -> tuple[Path, Path]:
    """The runner's own ``make_data`` arrays, as this project's train/valid HDF5 files."""
    data = args.work / "data"
    train, valid = data / "train.h5", data / "valid.h5"
    if train.exists() and valid.exists():
        return train, valid
    data.mkdir(parents=True, exist_ok=True)
    npz = data / "make_data.npz"
    code = (
        "import sys, numpy as np; sys.path.insert(0, sys.argv[1]); "
        "from amber_peer import make_data; "
        "x, y = make_data(int(sys.argv[2]), int(sys.argv[3]), seed=int(sys.argv[4])); "
        "np.savez(sys.argv[5], x=x, y=y)"
    )
    n = args.n_train + args.n_val
    env = dict(os.environ, AMBBACKEND="pytorch", MPLBACKEND="Agg")
    subprocess.run(
        [str(python), "-c", code, str(RUNNER.parent), str(n), str(args.seq_len), str(args.seed),
         str(npz)],
        check=True, env=env, capture_output=True, cwd=RUNNER.parent,  # not our `amber` package
    )  # fmt: skip
    arrays = np.load(npz)
    x = arrays["x"].transpose(0, 2, 1).astype(np.uint8)  # (N, L, 4) -> (N, 4, L) A,C,G,T
    y = arrays["y"].astype(np.uint8)
    features = [Feature(f"motif{j}", "synthetic", f"motif{j}", "TF") for j in range(N_LABELS)]
    for path, rows, split in ((train, slice(0, args.n_train), "train"),
                              (valid, slice(args.n_train, n), "valid")):  # fmt: skip
        count = rows.stop - rows.start
        with h5py.File(path, "w") as h5:
            create_split_datasets(
                h5, n=count, seq_len=args.seq_len, features=features, chunk_size=256,
                bin_size=args.seq_len, split=split, source="amber_peer.make_data",
                chrom_width=1,
            )  # fmt: skip
            h5["x"][:] = x[rows]
            h5["y"][:] = y[rows]
    npz.unlink()
    return train, valid


# --------------------------------------------------------------------------- one run each


def loadavg() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def run_original(python: Path, steps: int, tag: str, args: argparse.Namespace) -> dict:
    cmd = [
        str(python), str(RUNNER), "--n-train", str(args.n_train), "--n-val", str(args.n_val),
        "--seq-len", str(args.seq_len), "--steps", str(steps), "--seed", str(args.seed),
        "--arcs-per-step", str(args.archs_per_step), "--batch-size", str(args.batch_size),
        "--threads", str(args.threads), "--workdir", str(args.work / f"original_{tag}"),
    ]  # fmt: skip
    env = dict(
        os.environ, AMBBACKEND="pytorch", MPLBACKEND="Agg", OMP_NUM_THREADS=str(args.threads)
    )
    before, t0 = loadavg(), time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=RUNNER.parent)
    wall = time.monotonic() - t0
    if done.returncode != 0:
        raise RuntimeError(f"original AMBER failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    out = done.stdout
    steps_s = [float(v) for v in re.findall(r"^step \d+/\d+:\s+([\d.]+)s total", out, re.M)]
    train = re.search(r"supernet training: (\d+) samples in ([\d.]+)s", out)
    score = re.search(r"arch evaluation: (\d+) arcs x (\d+) val seqs in ([\d.]+)s", out)
    rss = re.search(r"peak RSS \(self\) (\d+) MB", out)
    return {
        "train_samples_per_s": int(train[1]) / float(train[2]),
        "score_samples_per_s": int(score[1]) * int(score[2]) / float(score[3]),
        "step_wall_s_median": statistics.median(steps_s),
        "peak_rss_mb": float(rss[1]),
        "wall_s": round(wall, 1),
        "loadavg_before": before,
        "loadavg_after": loadavg(),
    }


def run_ours(space: Path, train: Path, valid: Path, steps: int, tag: str, args) -> dict:
    out = args.work / f"ours_{tag}"
    child_batches = math.ceil(args.n_train / args.batch_size)  # one pass, as the original
    cmd = [
        sys.executable, "-m", "amber.cli", "search", "--space", str(space), "--train", str(train),
        "--valid", str(valid), "--out", str(out), "--steps", str(steps), "--warmup-batches", "0",
        "--child-batches", str(child_batches), "--batch-size", str(args.batch_size),
        "--archs-per-step", str(args.archs_per_step), "--valid-samples", "all",
        "--eval-batch-size", "256", "--seed", str(args.seed), "--threads", str(args.threads),
        "--device", "cpu", "--bf16" if args.bf16 else "--no-bf16",
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONPATH=str(ROOT))
    (out / "checkpoint.pt").unlink(missing_ok=True)
    before, t0 = loadavg(), time.monotonic()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    wall = time.monotonic() - t0
    with open(out / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    col = lambda name: [float(r[name]) for r in rows]  # noqa: E731
    rss = col("peak_rss_mb")
    summary = json.loads((out / "summary.json").read_text())
    return {
        "train_samples_per_s": sum(col("train_samples")) / sum(col("train_seconds")),
        "score_samples_per_s": sum(col("score_samples")) / sum(col("score_seconds")),
        "step_wall_s_median": statistics.median(col("seconds")),
        "peak_rss_mb_step5": rss[min(4, len(rss) - 1)],
        "peak_rss_mb": rss[-1],
        "precision": summary.get("precision", "float32"),
        "wall_s": round(wall, 1),
        "loadavg_before": before,
        "loadavg_after": loadavg(),
    }


# --------------------------------------------------------------------------- main


def original_versions(python: Path) -> dict:
    peer = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('amber-automl'), "
         "m.version('torch'), m.version('pytorch-lightning'))"],
        capture_output=True, text=True, check=True, cwd=RUNNER.parent,
    ).stdout.split()  # fmt: skip
    return {
        "original_amber_automl_version": peer[0],
        "original_torch_version": peer[1],
        "original_pytorch_lightning_version": peer[2],
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    python = peer_python(args.peer_venv)
    train, valid = write_data(python, args)
    space = args.work / "amber_peer_space.yaml"
    space.write_text(SPACE_YAML)

    pairs = []
    for p in range(args.pairs):
        order = ("original", "ours") if p % 2 == 0 else ("ours", "original")
        pair = {}
        for system in order:
            print(f"[pair {p + 1}/{args.pairs}] {system}: {args.steps} steps", flush=True)
            if system == "original":
                pair[system] = run_original(python, args.steps, f"pair{p}", args)
            else:
                pair[system] = run_ours(space, train, valid, args.steps, f"pair{p}", args)
            print(f"    {json.dumps(pair[system])}", flush=True)
        pairs.append(pair)
    # The original's memory after 5 steps, for its growth (its peak RSS is printed once).
    print("[rss] original: 5 steps", flush=True)
    original5 = run_original(python, 5, "rss5", args)

    def ratio(key: str, ours_over_original: bool = True) -> list[float]:
        return [
            p["ours"][key] / p["original"][key] if ours_over_original
            else p["original"][key] / p["ours"][key]
            for p in pairs
        ]  # fmt: skip

    train_r = ratio("train_samples_per_s")
    score_r = ratio("score_samples_per_s")
    wall_r = ratio("step_wall_s_median", ours_over_original=False)
    rss_ours = [p["ours"]["peak_rss_mb"] / p["ours"]["peak_rss_mb_step5"] for p in pairs]
    result: dict = {
        "benchmark": "search_vs_original",
        "search_train_over_original": statistics.median(train_r),
        "search_score_over_original": statistics.median(score_r),
        "step_wall_original_over_ours": statistics.median(wall_r),
        "rss_step20_over_step5": statistics.median(rss_ours),
        "original_rss_last_over_step5": statistics.median(
            p["original"]["peak_rss_mb"] for p in pairs
        )
        / original5["peak_rss_mb"],
        "search_train_over_original_per_pair": train_r,
        "search_score_over_original_per_pair": score_r,
        "step_wall_original_over_ours_per_pair": wall_r,
        "pairs": args.pairs,
        "steps": args.steps,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "archs_per_step": args.archs_per_step,
        "n_train": args.n_train,
        "n_val": args.n_val,
        "seq_len": args.seq_len,
        "ours_bf16_requested": args.bf16,
        "raw": {"pairs": pairs, "original_5_steps": original5},
        **machine_info(),
        **original_versions(python),
    }
    return write_result(result, args.out, hide=("raw",))


if __name__ == "__main__":
    main()
