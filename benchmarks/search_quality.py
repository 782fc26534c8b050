"""Does the search beat chance? Ground truth, rank fidelity, search vs random architectures.

On the default data and model space (``--config``, the demo by default):

1. **Ground truth**: ``--n-uniform`` architectures drawn uniformly (as ``amber sample-arch``)
   are trained stand-alone with the config's ``train:`` recipe, once per ``--ref-seeds``
   seed; validation and test AUROC (mean over features) per model. The reference's
   reliability: Kendall tau between two training seeds (``reference_seed_tau``), the
   pooled within-architecture sd (seed noise) and the sd across architectures (spread).
2. **Searches**: ``--search-seeds`` seeds of every ``--strategies`` strategy with the
   config's ``search:`` settings (``--set search.key=value`` overrides, repeatable); each
   result is retrained with the same recipe and placed among the uniform architectures
   by test AUROC (percentile; how many seeds beat the uniform median; one-sided
   Wilcoxon signed-rank test against that median).
3. **Rank fidelity**: every search's trained supernet scores the uniform architectures
   with the search's own reward (same validation subsample), with the stored BatchNorm
   statistics and with them recalibrated; Kendall tau and Spearman rho against the
   stand-alone validation AUROC. The reward's own noise is its bootstrap sd over
   validation rows, against the sd of rewards across architectures.
4. **Learning**: mean reward and controller entropy per step, per seed and averaged.

Every trained model, search and supernet score is cached under ``--cache`` by a hash of
what determines it (architecture or settings, recipe, data), so a second run only
computes what changed. ``--jobs`` processes run at once, one thread each. Writes JSON
to ``--out`` (default benchmarks/results/search_quality.json).

    # search_quality.json (ENAS and random-WS at the budget the demo's ENAS had; the
    # demo's default is now short_training with steps 8, child_batches 192), ~40 min on
    # 2 cores:
    .venv/bin/python benchmarks/search_quality.py \
        --set search.steps=36 --set search.child_batches=15
    # search_quality_short_training.json (the default search), ~27 min from an empty cache:
    .venv/bin/python benchmarks/search_quality.py --strategies short_training \
        --out benchmarks/results/search_quality_short_training.json
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from common import machine_info, write_result  # noqa: E402

BOOTSTRAP = 50  # resamples of validation rows for the reward's noise
RECAL_SAMPLES = 1024  # training samples for the recalibrated-BatchNorm variant


# Changes of training or search that their configs do not show; part of every cache key.
# 2: output biases start at the training positive rate (amber.nas.ops.start_at_prior_).
RECIPE = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=ROOT / "config/config.yaml")
    p.add_argument("--n-uniform", type=int, default=24, help="uniform architectures (default 24)")
    p.add_argument("--ref-seeds", type=int, nargs="+", default=[1, 2], help="training seeds")
    p.add_argument("--search-seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument("--strategies", nargs="+", default=["enas", "random_ws"])
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config value (YAML value), e.g. search.steps=48 (repeatable)",
    )
    p.add_argument(
        "--no-retrain",
        action="store_true",
        help="skip retraining the search results (ground truth, searches and rank fidelity only)",
    )
    p.add_argument(
        "--ground-truth",
        type=Path,
        help="reuse the uniform architectures' stand-alone AUROC of this earlier result "
        "(same config, n-uniform and ref-seeds) instead of training them",
    )
    p.add_argument(
        "--ground-truth-check",
        type=int,
        default=0,
        metavar="K",
        help="with --ground-truth: retrain the first K uniform architectures here (first "
        "ref seed) and report how far they land from the reused values",
    )
    p.add_argument("--jobs", type=int, default=2, help="processes at once (default 2)")
    p.add_argument("--cache", type=Path, default=ROOT / "results/bench_search_quality")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/search_quality.json")
    return p.parse_args(argv)


def load_config(path: Path, overrides: list[str]) -> dict[str, Any]:
    """The workflow's config with schema defaults filled in, then ``overrides``."""
    from snakemake.utils import validate

    config = yaml.safe_load(path.read_text())
    for item in overrides:
        key, _, value = item.partition("=")
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    schemas = ROOT / "workflow/schemas"
    validate(config, str(schemas / "config.schema.yaml"), set_default=True)
    # As in the Snakefile: defaults behind a $ref need the section's own schema.
    validate(config["train"], str(schemas / "train.schema.yaml"), set_default=True)
    return config


def search_config(section: dict[str, Any], **overrides: Any) -> Any:
    """A ``SearchConfig`` from a config's ``search:`` section or a result's recorded
    ``search_settings`` (keys that are not search settings are dropped), ``overrides`` on
    top."""
    from amber.nas.config import ControllerConfig, SearchConfig

    fields = {f.name for f in dataclasses.fields(SearchConfig)} - {"controller"}
    ctrl_fields = {f.name for f in dataclasses.fields(ControllerConfig)}
    ctrl = {k: v for k, v in section.get("controller", {}).items() if k in ctrl_fields}
    settings = {k: v for k, v in section.items() if k in fields} | overrides
    return SearchConfig(**settings, controller=ControllerConfig(**ctrl))


def add_ground_truth_args(p: argparse.ArgumentParser) -> None:
    """``--config`` and ``--ground-truth`` of the benchmarks that reuse this one's result."""
    p.add_argument("--config", type=Path, default=ROOT / "config/config.yaml")
    p.add_argument(
        "--ground-truth",
        type=lambda p: Path(p).resolve(),  # absolute: the result names it relative to ROOT
        default=ROOT / "benchmarks/results/search_quality.json",
        help="search_quality.py's result (uniform architectures' stand-alone AUROC)",
    )


@dataclasses.dataclass(frozen=True)
class GroundTruthSetup:
    """What the benchmarks that reuse this one's ground truth start from."""

    truth: dict[str, Any]  # search_quality.json
    space_path: str
    data: str  # the run's data folder
    settings: dict[str, Any]  # the ground truth's search settings, as SearchConfig fields
    uniform: list[dict]  # the ground truth's uniform architectures


def ground_truth_setup(args: argparse.Namespace, **search: Any) -> GroundTruthSetup:
    """The search settings ``--ground-truth`` was measured with (``search`` overrides, on
    CPU), its uniform architectures, and ``--config``'s space and data folder (see
    :func:`add_ground_truth_args`)."""
    from amber.nas.space import load_space

    config = load_config(args.config, [])
    truth = json.loads(args.ground_truth.read_text())
    space_path = str(ROOT / config["search"]["model_space"])
    # The settings the ground truth's searches ran with, not the config's (whose default
    # strategy and budget have changed since): these benchmarks compare against them.
    recorded = search_config(truth["search_settings"], device="cpu", **search)
    settings = dataclasses.asdict(recorded)
    space = load_space(space_path)
    uniform = uniform_architectures(space, truth["n_uniform"], recorded.controller.skip_target)
    data = str(ROOT / f"results/{config['run']}/data")
    return GroundTruthSetup(truth, space_path, data, settings, uniform)


def uniform_architectures(space: Any, n: int, skip_prob: float) -> list[dict]:
    """The ``n`` uniform architectures of the ground truth (always the same draws)."""
    from amber.nas.arch import sample_uniform

    rng = np.random.default_rng(2026)
    return [sample_uniform(space, rng, skip_prob=skip_prob).to_json() for _ in range(n)]


def digest(*parts: object) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def data_digest(data: Path) -> str:
    """The datasets' contents: a cached model stays valid while the HDF5 files do not
    change (``dataset.json`` gains fields between versions and names the run's paths)."""
    h = hashlib.sha256()
    for split in ("train", "valid", "test"):
        h.update((data / f"{split}.h5").read_bytes())
    return h.hexdigest()[:16]


def ensure_data(config: dict[str, Any], data: Path, cores: int, work: Path) -> None:
    """Make the run's datasets with the workflow itself (this config, overrides included)."""
    if all((data / f"{split}.h5").exists() for split in ("train", "valid", "test")):
        return
    work.mkdir(parents=True, exist_ok=True)
    configfile = work / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    # Relative to the repository root, as the rules name their outputs.
    targets = [
        str((data / f"{split}.h5").relative_to(ROOT)) for split in ("train", "valid", "test")
    ]
    snakemake = [str(ROOT / ".venv/bin/snakemake"), "--cores", str(cores)]
    subprocess.run([*snakemake, *targets, "--configfile", str(configfile)], cwd=ROOT, check=True)


# --- work done in worker processes (one torch thread each) ---------------------------


def _init_worker() -> None:
    import logging

    import torch

    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)


def train_task(arch: dict, space: str, data: str, recipe: dict, out: str) -> dict:
    """Train ``arch`` stand-alone (unless cached) and evaluate it on the test split."""
    from amber.nas.arch import Architecture
    from amber.train.config import TrainConfig
    from amber.train.evaluate import evaluate_model
    from amber.train.trainer import train_model

    out_dir, data_dir = Path(out), Path(data)
    result_path = out_dir / "result.json"
    if result_path.exists():
        return _with_epochs(json.loads(result_path.read_text()), out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    Architecture.from_json(arch).save(out_dir / "arch.json")
    t0 = time.monotonic()
    sidecar = train_model(
        out_dir / "arch.json",
        space,
        data_dir / "train.h5",
        data_dir / "valid.h5",
        out_dir,
        TrainConfig(**recipe),
    )
    seconds = time.monotonic() - t0
    table = evaluate_model(
        out_dir, data_dir / "test.h5", data_dir / "features.tsv", out_dir / "test.tsv",
        batch_size=TrainConfig(**recipe).eval_batch_size,
    )  # fmt: skip
    result = {
        "valid_auroc": float(sidecar["best_valid_auroc"]),
        "test_auroc": float(np.nanmean(table["auroc"])),
        "seconds": round(seconds, 1),
    }
    result_path.write_text(json.dumps(result))
    return _with_epochs(result, out_dir)


def _with_epochs(result: dict, out_dir: Path) -> dict:
    """Add the validation AUROC of every epoch (from the trainer's epochs.csv)."""
    import csv

    with open(out_dir / "epochs.csv") as handle:
        result["epoch_valid_auroc"] = [float(r["valid_auroc"]) for r in csv.DictReader(handle)]
    return result


def search_task(space: str, data: str, settings: dict, out: str) -> dict:
    """Run one search (unless cached); return its architecture and history."""
    import csv

    from amber.nas.loop import run_search

    out_dir, data_dir = Path(out), Path(data)
    if not (out_dir / "summary.json").exists():
        config = search_config(settings)
        t0 = time.monotonic()
        run_search(Path(space), data_dir / "train.h5", data_dir / "valid.h5", out_dir, config)
        (out_dir / "wall.json").write_text(json.dumps({"seconds": time.monotonic() - t0}))
    with open(out_dir / "history.csv") as handle:
        history = list(csv.DictReader(handle))
    return {
        "arch": json.loads((out_dir / "arch.json").read_text()),
        "mean_reward": [float(r["mean_reward"]) for r in history],
        "entropy": [float(r["entropy"]) for r in history],
        "seconds": json.loads((out_dir / "wall.json").read_text())["seconds"],
    }


def fidelity_task(space: str, data: str, settings: dict, search_dir: str, archs: list) -> dict:
    """Rewards of ``archs`` in a search's trained supernet: with stored and recalibrated
    BatchNorm statistics, and each reward's bootstrap sd over validation rows."""
    import torch

    from amber.data.loader import dataset_info, read_subsample
    from amber.metrics import mean_auroc
    from amber.nas.arch import Architecture
    from amber.nas.loop import supernet_logits
    from amber.nas.space import load_space
    from amber.nas.supernet import Supernet

    out = Path(search_dir) / "fidelity.json"
    key = digest(archs, RECAL_SAMPLES, BOOTSTRAP)
    cached = json.loads(out.read_text()) if out.exists() else {}
    if cached.get("key") == key:
        return cached
    data_dir = Path(data)
    info = dataset_info(data_dir / "train.h5")
    supernet = Supernet(load_space(space), info["seq_len"], info["n_features"])
    weights = torch.load(Path(search_dir) / "supernet.pt", weights_only=True)
    seed, batch = settings["seed"], settings["eval_batch_size"]
    x, y = read_subsample(data_dir / "valid.h5", settings["valid_samples"], seed=seed)
    y = np.asarray(y)
    x_recal = read_subsample(data_dir / "train.h5", RECAL_SAMPLES, seed=seed)[0]
    rng = np.random.default_rng(0)
    boots = [rng.integers(len(y), size=len(y)) for _ in range(BOOTSTRAP)]
    result: dict[str, Any] = {"key": key}
    for variant, recal in (("stored", None), ("recalibrated", x_recal)):
        # Fresh weights per variant: recalibration overwrites the stored statistics.
        supernet.load_state_dict(weights)
        rewards, sds = [], []
        for arch in archs:
            a = Architecture.from_json(arch)
            logits = supernet_logits(
                supernet, a, x, batch, bf16=settings["bf16"], recalibrate=recal
            )
            rewards.append(mean_auroc(y, logits))
            sds.append(float(np.std([mean_auroc(y[b], logits[b]) for b in boots])))
        result[variant] = {"rewards": rewards, "bootstrap_sd": sds}
    out.write_text(json.dumps(result))
    return result


# --- summaries -----------------------------------------------------------------------


def kendall(a, b) -> float:
    return float(stats.kendalltau(a, b).statistic)


def spearman(a, b) -> float:
    return float(stats.spearmanr(a, b).statistic)


def percentile(value: float, population: list[float]) -> float:
    """Share of ``population`` below ``value`` (ties count half), in percent."""
    pop = np.asarray(population)
    return float(100 * (np.sum(pop < value) + 0.5 * np.sum(pop == value)) / len(pop))


def reference_stats(results: dict[int, list[dict]], metric: str) -> dict[str, float]:
    """Seed agreement, pooled seed noise and the spread across architectures."""
    seeds = sorted(results)
    table = np.array([[r[metric] for r in results[s]] for s in seeds])  # (seeds, archs)
    taus = [
        kendall(table[i], table[j]) for i in range(len(seeds)) for j in range(i + 1, len(seeds))
    ]
    noise = float(np.sqrt(np.mean(np.var(table, axis=0, ddof=1)))) if len(seeds) > 1 else np.nan
    spread = float(np.std(table.mean(axis=0), ddof=1))
    # The reference is the mean over seeds: its noise is one seed's over sqrt(seeds).
    mean_noise = noise / np.sqrt(len(seeds))
    return {
        f"reference_seed_tau_{metric}": float(np.mean(taus)) if taus else np.nan,
        f"seed_noise_sd_{metric}": noise,
        f"arch_spread_sd_{metric}": spread,
        f"arch_spread_over_seed_noise_{metric}": spread / noise if noise else np.nan,
        f"arch_spread_over_reference_noise_{metric}": spread / mean_noise if noise else np.nan,
    }


def ground_truth_stats(ground: dict[int, list[dict]], ref_seeds: list[int]) -> dict[str, Any]:
    """Reference reliability, the uniform architectures' mean AUROC and how early
    stand-alone training ranks them as it finally does."""
    out: dict[str, Any] = {}
    for metric in ("valid_auroc", "test_auroc"):
        out.update(reference_stats(ground, metric))
    out["reference_seed_tau"] = out["reference_seed_tau_valid_auroc"]
    out["arch_spread_over_seed_noise"] = out["arch_spread_over_seed_noise_valid_auroc"]
    mean_valid = np.mean([[r["valid_auroc"] for r in ground[s]] for s in ref_seeds], axis=0)
    mean_test = np.mean([[r["test_auroc"] for r in ground[s]] for s in ref_seeds], axis=0)
    out["uniform_valid_auroc"] = [round(float(v), 4) for v in mean_valid]
    out["uniform_test_auroc"] = [round(float(v), 4) for v in mean_test]
    out["uniform_test_auroc_median"] = float(np.median(mean_test))
    out["uniform_test_auroc_max"] = float(np.max(mean_test))
    # A weight-sharing reward cannot be expected to beat a short stand-alone training.
    one_seed = ground[ref_seeds[0]]
    n_epochs = min(len(r["epoch_valid_auroc"]) for r in one_seed)
    out["standalone_epoch_kendall_tau"] = [
        round(kendall([r["epoch_valid_auroc"][e] for r in one_seed], mean_valid), 3)
        for e in range(n_epochs)
    ]
    out["train_seconds_median"] = statistics.median(
        r["seconds"] for rs in ground.values() for r in rs
    )
    return out


REUSED_KEYS = (
    "reference_seed_tau", "arch_spread_over_seed_noise", "uniform_valid_auroc",
    "uniform_test_auroc", "uniform_test_auroc_median", "uniform_test_auroc_max",
    "standalone_epoch_kendall_tau", "train_seconds_median",
)  # fmt: skip


def reused_ground_truth(reused: dict, check: dict[int, list[dict]], seed: int) -> dict[str, Any]:
    """An earlier result's ground truth, and how far this machine's retraining of its
    first architectures (``check``, one seed) lands from it (test AUROC, mean of
    retrained minus reused; one seed against a two-seed mean)."""
    out = {k: reused[k] for k in REUSED_KEYS}
    out.update({k: v for k, v in reused.items() if k.startswith(("seed_noise", "arch_spread"))})
    out.update({k: v for k, v in reused.items() if k.startswith("reference_seed_tau_")})
    here = [r["test_auroc"] for r in check.get(seed, [])]
    if here:
        there = reused["uniform_test_auroc"][: len(here)]
        out["ground_truth_check_test_auroc_here"] = [round(v, 4) for v in here]
        out["ground_truth_check_test_auroc_diff_mean"] = round(
            float(np.mean(np.subtract(here, there))), 4
        )
    return out


def place(searched: list[float], uniform: list[float]) -> dict[str, Any]:
    median = float(np.median(uniform))
    diffs = np.asarray(searched) - median
    test = stats.wilcoxon(diffs, alternative="greater") if np.any(diffs) else None
    return {
        "percentiles": [percentile(v, uniform) for v in searched],
        "percentile_median": float(np.median([percentile(v, uniform) for v in searched])),
        "beats_uniform_median": int(np.sum(diffs > 0)),
        "wilcoxon_p_one_sided": float(test.pvalue) if test is not None else 1.0,
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    config = load_config(args.config, args.set)
    from amber.nas.space import load_space
    from amber.train.config import TrainConfig

    run = config["run"]
    data = ROOT / f"results/{run}/data"
    ensure_data(config, data, args.jobs, args.cache)
    space_path = str(ROOT / config["search"]["model_space"])
    space = load_space(space_path)
    ddig = data_digest(data)

    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    # Every field, defaults included: a cached model must not outlive a changed default.
    recipe = {k: v for k, v in config["train"].items() if k in train_fields}
    recipe = dataclasses.asdict(TrainConfig(**{**recipe, "device": "cpu"}))
    settings = dataclasses.asdict(search_config(config["search"], device="cpu"))
    skip_prob = settings["controller"]["skip_target"]

    uniform = uniform_architectures(space, args.n_uniform, skip_prob)

    def train_dir(arch: dict, seed: int) -> Path:
        rec = {**recipe, "seed": seed}
        return args.cache / "train" / digest(arch, rec, ddig, space_path, RECIPE)

    def search_dir(strategy: str, seed: int) -> Path:
        s = {**settings, "strategy": strategy, "seed": seed}
        key = digest(s, ddig, space_path, RECIPE)
        return args.cache / "search" / f"{strategy}_{seed}_{key}"

    t_start = time.monotonic()
    walls: dict[str, float] = {}
    ctx = get_context("spawn")
    with ProcessPoolExecutor(args.jobs, mp_context=ctx, initializer=_init_worker) as pool:
        t0 = time.monotonic()
        reused = json.loads(args.ground_truth.read_text()) if args.ground_truth else None
        if reused is not None and (reused["n_uniform"], reused["ref_seeds"]) != (
            args.n_uniform,
            args.ref_seeds,
        ):
            raise SystemExit(f"{args.ground_truth}: other --n-uniform or --ref-seeds")
        trained = uniform[: args.ground_truth_check] if reused else uniform
        ref_seeds = args.ref_seeds[:1] if reused else args.ref_seeds
        uniform_futs = {
            s: [
                pool.submit(
                    train_task,
                    a,
                    space_path,
                    str(data),
                    {**recipe, "seed": s},
                    str(train_dir(a, s)),
                )
                for a in trained
            ]
            for s in ref_seeds
        }
        search_futs: dict[tuple[str, int], Future] = {
            (st, s): pool.submit(
                search_task,
                space_path,
                str(data),
                {**settings, "strategy": st, "seed": s},
                str(search_dir(st, s)),
            )  # fmt: skip
            for st in args.strategies
            for s in args.search_seeds
        }
        searches = {k: f.result() for k, f in search_futs.items()}
        walls["searches_s"] = round(time.monotonic() - t0, 1)
        retrain_futs = {
            (k, s): pool.submit(
                train_task,
                v["arch"],
                space_path,
                str(data),
                {**recipe, "seed": s},
                str(train_dir(v["arch"], s)),
            )  # fmt: skip
            for k, v in searches.items()
            for s in args.ref_seeds
            if not args.no_retrain
        }
        fid_futs = {  # a short-training search leaves its supernet untrained
            k: pool.submit(
                fidelity_task,
                space_path,
                str(data),
                {**settings, "seed": k[1]},
                str(search_dir(*k)),
                uniform,
            )  # fmt: skip
            for k in searches
            if k[0] != "short_training"
        }
        ground = {s: [f.result() for f in futs] for s, futs in uniform_futs.items()}
        walls["ground_truth_and_searches_s"] = round(time.monotonic() - t0, 1)
        retrained = {k: f.result() for k, f in retrain_futs.items()}
        fidelity = {k: f.result() for k, f in fid_futs.items()}
    walls["total_s"] = round(time.monotonic() - t_start, 1)

    result: dict[str, Any] = {"benchmark": "search_quality", "config": str(args.config.name)}
    result["overrides"] = args.set
    result["n_uniform"] = args.n_uniform
    result["ref_seeds"] = args.ref_seeds
    result["search_seeds"] = args.search_seeds
    result["strategies"] = args.strategies
    # Each search runs with its own strategy; the config's is not what ran.
    result["search_settings"] = {k: v for k, v in settings.items() if k != "strategy"}
    result["train_recipe"] = recipe
    if reused is not None:
        result["ground_truth_from"] = str(args.ground_truth)
        result.update(reused_ground_truth(reused, ground, args.ref_seeds[0]))
        mean_valid = np.asarray(result["uniform_valid_auroc"])
        mean_test = np.asarray(result["uniform_test_auroc"])
    else:
        result.update(ground_truth_stats(ground, args.ref_seeds))
        mean_valid = np.asarray(result["uniform_valid_auroc"])
        mean_test = np.asarray(result["uniform_test_auroc"])

    for st in args.strategies:
        seeds = args.search_seeds
        prefix = "searched" if st == "enas" else st
        if not args.no_retrain:
            test = [
                float(np.mean([retrained[((st, s), r)]["test_auroc"] for r in args.ref_seeds]))
                for s in seeds
            ]
            valid = [
                float(np.mean([retrained[((st, s), r)]["valid_auroc"] for r in args.ref_seeds]))
                for s in seeds
            ]
            placed = place(test, list(mean_test))
            result[f"{prefix}_test_auroc"] = [round(v, 4) for v in test]
            result[f"{prefix}_valid_auroc"] = [round(v, 4) for v in valid]
            result[f"{prefix}_percentiles"] = placed["percentiles"]
            result[f"{prefix}_percentile_median"] = placed["percentile_median"]
            result[f"{prefix}_beats_uniform_median"] = placed["beats_uniform_median"]
            result[f"{prefix}_wilcoxon_p_one_sided"] = placed["wilcoxon_p_one_sided"]
            result[f"{prefix}_valid_percentile_median"] = float(
                np.median([percentile(v, list(mean_valid)) for v in valid])
            )
        for variant in ("stored", "recalibrated") if st != "short_training" else ():
            taus = [kendall(fidelity[(st, s)][variant]["rewards"], mean_valid) for s in seeds]
            rhos = [spearman(fidelity[(st, s)][variant]["rewards"], mean_valid) for s in seeds]
            result[f"{prefix}_supernet_kendall_tau_{variant}"] = [round(t, 3) for t in taus]
            result[f"{prefix}_supernet_kendall_tau_{variant}_median"] = float(np.median(taus))
            result[f"{prefix}_supernet_spearman_rho_{variant}_median"] = float(np.median(rhos))
            result[f"{prefix}_reward_bootstrap_sd_{variant}"] = float(
                np.median([np.median(fidelity[(st, s)][variant]["bootstrap_sd"]) for s in seeds])
            )
            result[f"{prefix}_reward_spread_sd_{variant}"] = float(
                np.median([np.std(fidelity[(st, s)][variant]["rewards"], ddof=1) for s in seeds])
            )
        result[f"{prefix}_search_seconds"] = [round(searches[(st, s)]["seconds"], 1) for s in seeds]
        if st == "enas":
            rewards = np.array([searches[(st, s)]["mean_reward"] for s in seeds])
            entropy = np.array([searches[(st, s)]["entropy"] for s in seeds])
            result["learning_mean_reward_per_step"] = [round(float(v), 4) for v in rewards.mean(0)]
            result["learning_entropy_per_step"] = [round(float(v), 3) for v in entropy.mean(0)]
            k = max(1, rewards.shape[1] // 5)
            gain = rewards[:, -k:].mean(1) - rewards[:, :k].mean(1)
            result["learning_reward_gain_per_seed"] = [round(float(g), 4) for g in gain]
            result["learning_entropy_drop_per_seed"] = [
                round(float(e), 3) for e in entropy[:, :k].mean(1) - entropy[:, -k:].mean(1)
            ]
    recal = bool(settings.get("bn_recalibration"))
    variant = "recalibrated" if recal else "stored"
    first = "searched" if "enas" in args.strategies else args.strategies[0]
    if f"{first}_supernet_kendall_tau_{variant}_median" in result:
        result["supernet_kendall_tau"] = result[f"{first}_supernet_kendall_tau_{variant}_median"]
    if "random_ws" in args.strategies and "enas" in args.strategies and not args.no_retrain:
        a = np.array(result["searched_test_auroc"])
        b = np.array(result["random_ws_test_auroc"])
        result["enas_minus_random_ws_test_auroc_mean"] = float(np.mean(a - b))
        if np.any(a - b):
            result["enas_vs_random_ws_wilcoxon_p"] = float(stats.wilcoxon(a, b).pvalue)
    result.update({f"wall_{k}": v for k, v in walls.items()})
    result.update(machine_info())
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
