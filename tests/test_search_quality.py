"""benchmarks/search_quality.py: its statistics by hand, and a scaled-down run of the
whole benchmark (ground truth, searches of both strategies, retraining, rank fidelity)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import search_quality as sq  # noqa: E402


def test_percentile_and_placement_by_hand() -> None:
    assert sq.percentile(0.5, [0.1, 0.5, 0.9]) == pytest.approx(50.0)  # 1 below, 1 tie of 3
    assert sq.percentile(0.95, [0.1, 0.5, 0.9]) == 100.0
    placed = sq.place([0.95, 0.92, 0.2], [0.1, 0.3, 0.5, 0.7, 0.9])
    assert placed["percentiles"] == [100.0, 100.0, 20.0]
    assert placed["percentile_median"] == 100.0
    assert placed["beats_uniform_median"] == 2
    assert 0 < placed["wilcoxon_p_one_sided"] < 1


def test_reference_stats_by_hand() -> None:
    seed1 = [{"valid_auroc": v} for v in (0.70, 0.80, 0.90, 0.75)]
    seed2 = [{"valid_auroc": v} for v in (0.72, 0.78, 0.92, 0.77)]  # same order, noise 0.02
    stats = sq.reference_stats({1: seed1, 2: seed2}, "valid_auroc")
    assert stats["reference_seed_tau_valid_auroc"] == pytest.approx(1.0)
    # Pooled within-architecture sd: each pair differs by 0.02 -> sd 0.02 / sqrt(2).
    assert stats["seed_noise_sd_valid_auroc"] == pytest.approx(0.02 / np.sqrt(2))
    means = np.array([0.71, 0.79, 0.91, 0.76])
    assert stats["arch_spread_sd_valid_auroc"] == pytest.approx(np.std(means, ddof=1))
    # The reference is the two-seed mean: its noise is one seed's over sqrt(2).
    assert stats["arch_spread_over_reference_noise_valid_auroc"] == pytest.approx(
        np.std(means, ddof=1) / (0.02 / np.sqrt(2) / np.sqrt(2))
    )
    swapped = [{"valid_auroc": v} for v in (0.90, 0.80, 0.70, 0.75)]
    assert (
        sq.reference_stats({1: seed1, 2: swapped}, "valid_auroc")["reference_seed_tau_valid_auroc"]
        < 0
    )


def test_scaled_down_benchmark_runs_and_reuses_its_cache(tmp_path: Path) -> None:
    run = "test_search_quality"
    args = [
        "--config", str(ROOT / "tests/configs/tiny.yaml"), "--set", f"run={run}",
        "--n-uniform", "4", "--search-seeds", "1", "2", "--jobs", "2",
        "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "sq.json"),
        "--set", "train.max_epochs=2",
    ]  # fmt: skip
    try:
        result = sq.main(args)
        models = sorted((tmp_path / "cache" / "train").glob("*/result.json"))
        stamps = [m.stat().st_mtime_ns for m in models]
        again = sq.main(args)
    finally:
        shutil.rmtree(ROOT / "results" / run, ignore_errors=True)
        shutil.rmtree(ROOT / "logs" / run, ignore_errors=True)
    assert json.loads((tmp_path / "sq.json").read_text()) == again
    assert [m.stat().st_mtime_ns for m in models] == stamps  # nothing trained twice
    assert len(models) >= 4 * 2  # 4 uniform architectures x 2 training seeds (+ results)
    taus = ("reference_seed_tau", "supernet_kendall_tau", "random_ws_supernet_kendall_tau_stored")
    for key in taus[:2]:
        assert -1 <= result[key] <= 1, key
    assert all(-1 <= t <= 1 for t in result[taus[2]])
    for prefix in ("searched", "random_ws"):
        assert 0 <= result[f"{prefix}_percentile_median"] <= 100
        assert 0 <= result[f"{prefix}_beats_uniform_median"] <= 2
        assert len(result[f"{prefix}_test_auroc"]) == 2
    assert len(result["learning_mean_reward_per_step"]) == 2  # tiny.yaml: 2 steps
    assert result["arch_spread_over_seed_noise"] > 0
    assert len(result["standalone_epoch_kendall_tau"]) >= 1
