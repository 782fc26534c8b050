"""Throughput of variant scoring through Selene (amber.variants.score.score_variants).

Writes a random genome (2 chromosomes x 500 kb) and a VCF of random SNVs (default 2000)
into a temporary folder, scores them with a demo-space model (34 features) and a
paper-space model (amber_seq.yaml, 919 features), both at seq_len 1000 with untrained
weights, and writes ``benchmarks/results/variant_scoring.json`` (flat keys).
``variants_per_s_*`` covers the whole call (VCF check against the genome, Selene's window
fetching and one-hot encoding, two forward passes per variant, HDF5 writing);
``model_only_variants_per_s_*`` is the two forward passes alone on the same batch size,
so the difference is Selene's and our overhead. As ``amber score-variants`` does, it
first asks glibc to reuse freed tensor memory (:mod:`amber.allocator`).

    .venv/bin/python benchmarks/variant_scoring.py [--variants N] [--batch-size B] [--threads T]
    .venv/bin/python benchmarks/variant_scoring.py --before /tmp/amber-before

``--before CHECKOUT`` measures another work tree's ``amber`` package right after, in the
same run, and adds ``before_*`` numbers and ``after_over_before_*`` ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
# The amber package to measure: the installed one, or another checkout's (see --before).
if "AMBER_CHECKOUT" in os.environ:
    sys.path.insert(0, os.environ["AMBER_CHECKOUT"])

from amber.fileio import atomic_path  # noqa: E402
from amber.nas.arch import sample_uniform  # noqa: E402
from amber.nas.child import build_child, count_parameters  # noqa: E402
from amber.nas.space import load_space  # noqa: E402
from amber.variants.score import ScoreConfig, score_variants  # noqa: E402

SEQ_LEN = 1000
CHROM_LEN = 500_000
MODELS = {  # key -> (model space, number of features)
    "demo": ("config/model_spaces/demo.yaml", 34),
    "paper_space": ("config/model_spaces/amber_seq.yaml", 919),
}
DEFAULT_OUT = Path(__file__).parent / "results" / "variant_scoring.json"


def write_inputs(folder: Path, n_variants: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    seqs = {f"chr{i}": "".join(rng.choice(list("ACGT"), CHROM_LEN)) for i in (1, 2)}
    fasta = folder / "genome.fa"
    with open(fasta, "w") as handle:
        for name, seq in seqs.items():
            handle.write(f">{name}\n")
            handle.writelines(seq[i : i + 80] + "\n" for i in range(0, len(seq), 80))
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT"]
    for i in range(n_variants):
        chrom = f"chr{rng.integers(1, 3)}"
        pos = int(rng.integers(SEQ_LEN, CHROM_LEN - SEQ_LEN))
        ref = seqs[chrom][pos - 1]
        alt = "ACGT"[("ACGT".index(ref) + int(rng.integers(1, 4))) % 4]
        lines.append(f"{chrom}\t{pos}\tv{i}\t{ref}\t{alt}")
    vcf = folder / "snvs.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    return fasta, vcf


def model_only_rate(model: torch.nn.Module, n_variants: int, batch_size: int) -> float:
    """Variants/s of the two forward passes alone (random one-hot input)."""
    device = next(model.parameters()).device
    x = torch.zeros(batch_size, 4, SEQ_LEN, device=device)
    x[:, 0] = 1
    n_batches = max(1, -(-2 * n_variants // batch_size))
    with torch.no_grad():
        model(x)  # warm-up
        start = time.perf_counter()
        for _ in range(n_batches):
            model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return n_batches * batch_size / 2 / (time.perf_counter() - start)


def versions() -> dict[str, str | int]:
    import h5py
    import selene_sdk

    return {
        "machine_platform": platform.platform(),
        "machine_processor": platform.processor() or platform.machine(),
        "machine_cpu_count": os.cpu_count() or 0,
        "torch_num_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "python_version": platform.python_version(),
        "torch_version": torch.__version__,
        "selene_sdk_version": selene_sdk.__version__,
        "h5py_version": h5py.__version__,
        "numpy_version": np.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--before", type=Path, help="another checkout to measure too")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        from amber.allocator import keep_freed_memory
    except ImportError:  # a checkout from before amber.allocator existed
        pass
    else:
        keep_freed_memory()
    use_cuda = torch.cuda.is_available()
    result: dict[str, object] = {
        "benchmark": "variant_scoring",
        "n_variants": args.variants,
        "seq_len": SEQ_LEN,
        "batch_size": args.batch_size,
        "device": "cuda" if use_cuda else "cpu",
        # The machine may be shared: a load above the core count slows every number here.
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory() as tmp:
        fasta, vcf = write_inputs(Path(tmp), args.variants)
        for key, (space_path, n_features) in MODELS.items():
            space = load_space(ROOT / space_path)
            torch.manual_seed(0)
            arch = sample_uniform(space, np.random.default_rng(0))
            model = build_child(arch, space, SEQ_LEN, n_features).eval()
            features = [f"f{i}" for i in range(n_features)]
            config = ScoreConfig(batch_size=args.batch_size, use_cuda=use_cuda)
            start = time.perf_counter()
            summary = score_variants(
                model, features, vcf, fasta, Path(tmp) / key, seq_len=SEQ_LEN, config=config
            )
            seconds = time.perf_counter() - start
            assert summary["counts"]["scored"] == args.variants, summary["counts"]
            result[f"variants_per_s_{key}"] = round(args.variants / seconds, 1)
            result[f"seconds_{key}"] = round(seconds, 2)
            result[f"model_only_variants_per_s_{key}"] = round(
                model_only_rate(model, args.variants, args.batch_size), 1
            )
            result[f"n_features_{key}"] = n_features
            result[f"n_parameters_{key}"] = count_parameters(model)
            result[f"arch_{key}"] = " ".join(arch.ops)
            print(f"{key}: {result[f'variants_per_s_{key}']} variants/s", file=sys.stderr)
    result.update(versions())
    if args.before:
        result.update(measure_before(args, result))
    with atomic_path(args.out) as tmp_out:
        tmp_out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def measure_before(args: argparse.Namespace, after: dict) -> dict:
    """This script on ``args.before``'s package in a child process; ratios to ``after``."""
    checkout = args.before.resolve()
    tmp = checkout / "variant_scoring.before.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--variants", str(args.variants),
           "--batch-size", str(args.batch_size), "--threads", str(args.threads),
           "--out", str(tmp)]  # fmt: skip
    env = dict(os.environ, AMBER_CHECKOUT=str(checkout))
    subprocess.run(cmd, env=env, cwd=checkout, check=True, capture_output=True)
    before = json.loads(tmp.read_text())
    tmp.unlink()
    out: dict[str, object] = {"before_checkout": str(checkout)}
    for key in MODELS:
        for name in (f"variants_per_s_{key}", f"model_only_variants_per_s_{key}"):
            out[f"before_{name}"] = before[name]
            out[f"after_over_before_{name}"] = round(after[name] / before[name], 3)
    return out


if __name__ == "__main__":
    sys.exit(main())
