"""The search stage: uniform sampler, resume after a hard kill, and that the search
finds architectures better than uniform samples."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from procs import kill_once_exists

from amber.nas.arch import Architecture, sample_uniform
from amber.nas.loop import MACHINE_FIELDS
from amber.nas.space import load_space

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPACE = ROOT / "config" / "model_spaces" / "demo.yaml"
MOTIFS = ["GATAAG", "CACGTG", "TTGCGCAA"]


def _planted_split(path: Path, n: int, seq_len: int, seed: int) -> None:
    """One-hot sequences; feature k is positive where motif k was planted."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, seq_len))
    y = rng.random((n, len(MOTIFS))) < 0.3
    for i, j in zip(*np.nonzero(y), strict=True):
        motif = np.array(["ACGT".index(b) for b in MOTIFS[j]])
        pos = rng.integers(0, seq_len - len(motif))
        codes[i, pos : pos + len(motif)] = motif
    x = np.zeros((n, 4, seq_len), dtype=np.uint8)
    np.put_along_axis(x, codes[:, None, :], 1, axis=1)
    with h5py.File(path, "w") as h5:
        h5.create_dataset("x", data=x, chunks=(32, 4, seq_len))
        h5.create_dataset("y", data=y.astype(np.uint8), chunks=(32, len(MOTIFS)))
        h5.attrs["seq_len"] = seq_len
        h5.attrs["features"] = MOTIFS


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("planted")
    _planted_split(folder / "train.h5", 640, 200, seed=1)
    _planted_split(folder / "valid.h5", 200, 200, seed=2)
    return folder / "train.h5", folder / "valid.h5"


def test_uniform_sampler_is_seeded_and_valid() -> None:
    space = load_space(DEMO_SPACE)
    a = sample_uniform(space, np.random.default_rng(5))
    b = sample_uniform(space, np.random.default_rng(5))
    c = sample_uniform(space, np.random.default_rng(6))
    assert a == b and a != c
    assert a.validate(space) is a


SEARCH_ARGS = [
    "--steps", "4", "--warmup-batches", "3", "--child-batches", "4", "--batch-size", "32",
    "--archs-per-step", "4", "--valid-samples", "100", "--seed", "3",
]  # fmt: skip


def _amber(*args: str) -> list[str]:
    return [sys.executable, "-m", "amber.cli", *args]


def _search_cmd(train: Path, valid: Path, out: Path) -> list[str]:
    return _amber(
        "search", "--space", str(DEMO_SPACE), "--train", str(train), "--valid", str(valid),
        "--out", str(out), *SEARCH_ARGS,
    )  # fmt: skip


def _history(out: Path) -> list[dict[str, str]]:
    with open(out / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for column in MACHINE_FIELDS:
            row.pop(column)
    return rows


def test_search_resumes_after_kill_with_identical_result(
    planted: tuple[Path, Path], tmp_path: Path
) -> None:
    train, valid = planted
    env = dict(os.environ, OMP_NUM_THREADS="1")
    straight = tmp_path / "straight"
    subprocess.run(_search_cmd(train, valid, straight), check=True, env=env, timeout=600)

    killed = tmp_path / "killed"
    # Kill hard once at least one controller step is checkpointed (mid-way through the run).
    kill_once_exists(
        _search_cmd(train, valid, killed), killed / "history.csv", env, deadline_s=300, poll_s=0.05
    )
    assert not (killed / "arch.json").exists(), "the kill came too late to test a resume"
    other = _search_cmd(train, valid, killed)
    other[other.index("--seed") + 1] = "4"
    refused = subprocess.run(other, env=env, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 1
    assert "checkpoint.pt belongs to a search with other settings" in refused.stderr
    assert refused.stderr.count("\n") <= 3  # one clear line, no traceback
    # Resumed on a node with more cores: the run keeps the thread count it began with.
    resume = [*_search_cmd(train, valid, killed), "--threads", "2"]
    done = subprocess.run(resume, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "resuming search" in done.stderr
    assert "written with 1 CPU threads: resuming with 1 (not 2)" in done.stderr

    assert json.loads((killed / "arch.json").read_text()) == json.loads(
        (straight / "arch.json").read_text()
    )
    assert _history(killed) == _history(straight)
    weights = [torch.load(d / "supernet.pt", weights_only=True) for d in (straight, killed)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert len(_history(straight)) == 4
    assert not (killed / "checkpoint.pt").exists() and (killed / "supernet.pt").exists()


def test_finished_search_reruns_with_other_settings(
    planted: tuple[Path, Path], tmp_path: Path
) -> None:
    """Snakemake reruns a search whose settings changed: nothing left behind may block it."""
    train, valid = planted
    out = tmp_path / "run"
    subprocess.run(_search_cmd(train, valid, out), check=True, timeout=600, capture_output=True)
    cmd = _search_cmd(train, valid, out)
    cmd[cmd.index("--seed") + 1] = "4"
    subprocess.run(cmd, check=True, timeout=600, capture_output=True)
    fresh = tmp_path / "fresh"
    cmd[cmd.index("--out") + 1] = str(fresh)
    subprocess.run(cmd, check=True, timeout=600, capture_output=True)
    assert _history(out) == _history(fresh)


def test_search_outputs(planted: tuple[Path, Path], tmp_path: Path) -> None:
    """Also: ``warmup_batches: 0`` is valid config; the search starts with step 1."""
    from amber.nas.loop import SearchConfig, run_search

    train, valid = planted
    torch.set_num_threads(1)
    config = SearchConfig(
        steps=2, warmup_batches=0, child_batches=2, batch_size=32, archs_per_step=3,
        valid_samples=50,
    )  # fmt: skip
    summary = run_search(DEMO_SPACE, train, valid, tmp_path, config)
    space = load_space(DEMO_SPACE)
    arch = Architecture.load(tmp_path / "arch.json").validate(space)
    assert arch.model_space == "demo"
    assert 0.0 <= summary["best_reward"] <= 1.0
    with open(tmp_path / "op_probs.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 2 * space.num_layers
    for row in rows:
        probs = [float(row[op]) for op in space.op_names]
        assert sum(probs) == pytest.approx(1.0, abs=1e-4)
    with open(tmp_path / "op_embeddings.tsv") as handle:
        emb = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["op"] for r in emb] == list(space.op_names)
    with open(tmp_path / "history.csv") as handle:
        history = list(csv.DictReader(handle))
    for row in history:  # throughput and memory per step, for benchmarks and users
        assert int(row["train_samples"]) == 2 * 32
        assert int(row["score_samples"]) == 3 * 50
        assert float(row["train_seconds"]) > 0 and float(row["score_seconds"]) > 0
        assert float(row["peak_rss_mb"]) > 50


def test_searched_architecture_beats_uniform_median_on_simulated_data(tmp_path: Path) -> None:
    """The acceptance check of the search: on the simulated genome, the searched
    architecture scores above the median of uniformly sampled ones, all evaluated in the
    same trained supernet on the whole validation split (not the subsample that picked it)."""
    from amber.data.dataset import make_dataset
    from amber.data.loader import read_subsample
    from amber.data.simulate import SimConfig, simulate_genome
    from amber.nas.loop import SearchConfig, evaluate_reward, run_search
    from amber.nas.supernet import Supernet

    torch.set_num_threads(2)
    genome = tmp_path / "genome"
    simulate_genome(SimConfig(seed=1, n_chroms=4, chrom_length=400_000), genome)
    data = tmp_path / "data"
    make_dataset(
        genome / "genome.fa", genome / "features.tsv", genome / "peaks", data,
        seq_len=1000, valid_chroms=["chr3"], test_chroms=["chr4"], negative_fraction=0.1,
    )  # fmt: skip
    config = SearchConfig(
        steps=8, warmup_batches=10, child_batches=12, batch_size=64, archs_per_step=6,
        valid_samples=300, eval_batch_size=150, seed=1,
    )  # fmt: skip
    out = tmp_path / "search"
    run_search(DEMO_SPACE, data / "train.h5", data / "valid.h5", out, config)

    space = load_space(DEMO_SPACE)
    x, y = read_subsample(data / "valid.h5", None, seed=0)
    net = Supernet(space, seq_len=1000, n_features=y.shape[1])
    net.load_state_dict(torch.load(out / "supernet.pt", weights_only=True))
    y = y.numpy()
    searched = evaluate_reward(net, Architecture.load(out / "arch.json"), x, y, 250)
    rng = np.random.default_rng(123)
    uniform = [evaluate_reward(net, sample_uniform(space, rng), x, y, 250) for _ in range(15)]
    assert searched > float(np.median(uniform)), (searched, sorted(uniform))


def _all_ops(space, op: str, skip: int) -> Architecture:
    index = space.op_index(op)
    skips = [[skip] * i for i in range(space.num_layers)]
    return Architecture.from_indices(space, [index] * space.num_layers, skips)


def test_bn_recalibration_repairs_polluted_statistics(planted: tuple[Path, Path]) -> None:
    """Running BatchNorm statistics shared by all architectures are wrong for each one:
    recalibration recomputes them from training data, whatever the supernet saw before."""
    from amber.data.loader import read_subsample
    from amber.nas.loop import evaluate_reward, supernet_logits
    from amber.nas.supernet import Supernet

    train, _ = planted
    torch.set_num_threads(1)
    space = load_space(DEMO_SPACE)
    # Scored on the samples it learns from: this is about statistics, not generalisation.
    x, y = read_subsample(train, 256, seed=0)
    xv, yv = x, y.numpy()
    child, other = _all_ops(space, "conv8", 0), _all_ops(space, "maxpool4", 1)
    torch.manual_seed(0)
    net = Supernet(space, seq_len=200, n_features=len(MOTIFS))
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)

    def forward_train(arch: Architecture, steps: int, learn: bool) -> None:
        net.train()
        for _ in range(steps):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                net.forward_logits(x, arch), y
            )
            if learn:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

    forward_train(child, 60, learn=True)  # a pure child: only its own statistics
    net.dropout.p = 0.0  # so that train-mode statistics match the recalibration's
    forward_train(child, 60, learn=False)
    pure = supernet_logits(net, child, xv, 100)
    pure_reward = evaluate_reward(net, child, xv, yv, 100)
    recal = supernet_logits(net, child, xv, 100, recalibrate=x)

    def off(logits: np.ndarray) -> float:  # largest change, relative to the logits' scale
        return float(np.abs(logits - pure).max() / np.abs(pure).max())

    assert off(recal) < 0.05
    assert evaluate_reward(net, child, xv, yv, 100, recalibrate=x) == pytest.approx(
        pure_reward, abs=0.005
    )

    forward_train(other, 60, learn=False)  # pollute the shared statistics
    polluted_reward = evaluate_reward(net, child, xv, yv, 100)
    assert polluted_reward < pure_reward - 0.05
    assert off(supernet_logits(net, child, xv, 100)) > 0.5
    repaired = supernet_logits(net, child, xv, 100, recalibrate=x)
    np.testing.assert_allclose(repaired, recal, rtol=1e-5, atol=1e-5)


def test_random_ws_returns_best_rewarded_draw(planted: tuple[Path, Path], tmp_path: Path) -> None:
    """Random search with weight sharing: the result is the best of its uniform draws,
    ranked by the trained supernet; the controller never runs."""
    from amber.data.loader import read_subsample
    from amber.nas.loop import SearchConfig, evaluate_reward, run_search, uniform_archs
    from amber.nas.supernet import Supernet

    train, valid = planted
    torch.set_num_threads(1)
    config = SearchConfig(
        steps=3, warmup_batches=2, child_batches=3, batch_size=32, archs_per_step=4,
        valid_samples=120, eval_batch_size=60, strategy="random_ws", bn_recalibration=64,
        bf16=False, seed=5,
    )  # fmt: skip
    summary = run_search(DEMO_SPACE, train, valid, tmp_path, config)
    history = _history(tmp_path)
    assert len(history) == 3 and all(np.isnan(float(r["mean_reward"])) for r in history)

    space = load_space(DEMO_SPACE)
    net = Supernet(space, seq_len=200, n_features=len(MOTIFS))
    net.load_state_dict(torch.load(tmp_path / "supernet.pt", weights_only=True))
    x, y = read_subsample(valid, 120, seed=5)
    x_recal = read_subsample(train, 64, seed=5)[0]
    draws = uniform_archs(space, 3 * 4, seed=5, step=3, skip_prob=0.4)
    assert len(set(draws)) > 1
    rewards = [evaluate_reward(net, a, x, y.numpy(), 60, recalibrate=x_recal) for a in draws]
    assert Architecture.load(tmp_path / "arch.json") == draws[int(np.argmax(rewards))]
    assert summary["best_reward"] == pytest.approx(max(rewards), abs=1e-6)


def test_short_training_returns_best_of_candidates_trained_alone(
    planted: tuple[Path, Path], tmp_path: Path
) -> None:
    """Short stand-alone training: one uniform draw per step, each trained alone from the
    untrained supernet's weights and scored; the result is the best-scored candidate, the
    supernet is never trained, and the candidates really trained (rewards differ from an
    untrained child's)."""
    from amber.data.loader import positive_rates, read_subsample
    from amber.nas.child import build_child, load_child_from_supernet
    from amber.nas.loop import SearchConfig, evaluate_reward, run_search, uniform_archs
    from amber.nas.ops import start_at_prior_
    from amber.nas.supernet import Supernet

    train, valid = planted
    torch.set_num_threads(1)
    config = SearchConfig(
        steps=4, warmup_batches=5, child_batches=12, batch_size=32, valid_samples=120,
        eval_batch_size=60, strategy="short_training", bf16=False, seed=5,
    )  # fmt: skip
    summary = run_search(DEMO_SPACE, train, valid, tmp_path, config)
    history = _history(tmp_path)
    space = load_space(DEMO_SPACE)
    draws = [uniform_archs(space, 1, seed=5, step=s, skip_prob=0.4)[0] for s in range(4)]
    assert [Architecture.from_json(json.loads(r["best_arch"])) for r in history] == draws
    rewards = [float(r["mean_reward"]) for r in history]
    assert Architecture.load(tmp_path / "arch.json") == draws[int(np.argmax(rewards))]
    assert summary["best_reward"] == pytest.approx(max(rewards))
    assert all(int(r["train_samples"]) == 12 * 32 for r in history)
    densities = [float(r["skip_density"]) for r in history]  # each candidate's own
    assert densities == pytest.approx([a.num_skips / 15 for a in draws])  # 6 layers: 15 flags

    torch.manual_seed(5)  # the fresh supernet of SearchState.start, at the prior
    fresh = Supernet(space, seq_len=200, n_features=len(MOTIFS))
    start_at_prior_(fresh, positive_rates(train))
    saved = torch.load(tmp_path / "supernet.pt", weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in fresh.state_dict().items())
    x, y = read_subsample(valid, 120, seed=5)
    untrained = [
        evaluate_reward(
            load_child_from_supernet(build_child(a, space, 200, len(MOTIFS)), fresh, a),
            a, x, y.numpy(), 60,
        )
        for a in draws
    ]  # fmt: skip
    assert max(abs(r - u) for r, u in zip(rewards, untrained, strict=True)) > 0.02


def test_short_training_finalists_train_on_and_decide(
    planted: tuple[Path, Path], tmp_path: Path
) -> None:
    """One round of successive halving: the 2 best screened candidates (ties: the earlier)
    train on for the batches left to ``finalist_batches`` and the best of them by that
    reward is the result; a search stopped between the two finalists and continued from
    its checkpointed state ends exactly as the straight run."""
    import io

    from amber.data.loader import batches_for_step, positive_rates, read_subsample
    from amber.nas.loop import SearchConfig, SearchState, run_search, search
    from amber.nas.ops import start_at_prior_

    train, valid = planted
    torch.set_num_threads(1)
    config = SearchConfig(
        steps=4, child_batches=8, finalists=2, finalist_batches=14, batch_size=32,
        valid_samples=120, eval_batch_size=60, strategy="short_training", bf16=False, seed=5,
    )  # fmt: skip
    summary = run_search(DEMO_SPACE, train, valid, tmp_path, config)
    history = _history(tmp_path)
    assert [int(r["step"]) for r in history] == list(range(6))
    archs = [json.loads(r["best_arch"]) for r in history]
    screen = np.array([float(r["mean_reward"]) for r in history[:4]])
    assert archs[4:] == [archs[i] for i in np.argsort(-screen, kind="stable")[:2]]
    assert [int(r["train_samples"]) for r in history] == [8 * 32] * 4 + [6 * 32] * 2
    final = [float(r["mean_reward"]) for r in history[4:]]
    assert Architecture.load(tmp_path / "arch.json").to_json() == archs[4 + int(np.argmax(final))]
    assert summary["best_reward"] == pytest.approx(max(final))

    # The same search in memory, stopped after the first finalist and continued from a
    # copy of its state (what checkpoint.pt holds): the kept candidates travel with it.
    space = load_space(DEMO_SPACE)
    x, y = read_subsample(valid, 120, seed=5)

    def batches(step: int, n: int):
        return batches_for_step(train, 32, n, seed=5, step=step)

    def fresh() -> SearchState:
        state = SearchState.start(space, 200, len(MOTIFS), config)
        start_at_prior_(state.supernet, positive_rates(train))
        return state

    class Stop(Exception):
        pass

    saved = io.BytesIO()

    def stop_after_first_finalist(state: SearchState) -> None:
        if state.progress["step"] == 5:
            torch.save({**state.state_dict(), "rng": torch.get_rng_state()}, saved)
            raise Stop

    with pytest.raises(Stop):
        search(space, batches, (x, y), config, state=fresh(), on_step=stop_after_first_finalist)
    saved.seek(0)
    payload = torch.load(saved, weights_only=False)
    assert len(payload["state"]["kept"]) == 2
    state = fresh()
    state.load_state_dict(payload)
    torch.set_rng_state(payload["rng"])
    resumed = search(space, batches, (x, y), config, state=state)
    assert resumed.arch == Architecture.load(tmp_path / "arch.json")
    assert resumed.reward == pytest.approx(summary["best_reward"], abs=1e-6)
    assert [h["mean_reward"] for h in resumed.history] == pytest.approx(
        [float(r["mean_reward"]) for r in history], abs=1e-6
    )
    assert resumed.state.progress["kept"] == []  # the finalists' weights are dropped


def test_search_settings_are_checked_before_any_work() -> None:
    from amber.nas.loop import SearchConfig

    with pytest.raises(ValueError, match="steps >= 1.*archs_per_step >= 1"):
        SearchConfig(steps=0, archs_per_step=0)
    with pytest.raises(ValueError, match="strategy in"):
        SearchConfig(strategy="evolution")
    with pytest.raises(ValueError, match="finalists only with strategy short_training"):
        SearchConfig(finalists=2, finalist_batches=40)
    with pytest.raises(ValueError, match="finalist_batches > child_batches"):
        SearchConfig(strategy="short_training", finalists=2, finalist_batches=20)


def test_sigterm_stops_with_a_message_and_no_temporary_files(
    planted: tuple[Path, Path], tmp_path: Path
) -> None:
    """scancel and SLURM time limits send SIGTERM: the job says so, leaves no .tmp file,
    and the same command resumes from the last checkpoint."""
    train, valid = planted
    out = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # 30 steps (the last flag wins): after the first history.csv the rest must outlast the
    # signal's delivery; with 4 fast steps the search once finished first (a flaky test).
    cmd = [*_search_cmd(train, valid, out), "--steps", "30"]
    stopped = kill_once_exists(
        cmd, out / "history.csv", env, deadline_s=300, poll_s=0.02, sig=signal.SIGTERM
    )
    assert not (out / "arch.json").exists(), "SIGTERM came too late to test"
    assert stopped.returncode == 143
    assert "amber search: stopped by SIGTERM (rerun to resume)" in stopped.stderr
    assert list(out.glob(".*.tmp")) == []
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "resuming search" in done.stderr


def test_killed_rerun_of_a_finished_search_leaves_no_old_result(
    planted: tuple[Path, Path], tmp_path: Path
) -> None:
    """Rerunning a finished search (other settings) and killing it must not leave the
    old arch.json beside the new, partial history."""
    train, valid = planted
    out = tmp_path / "run"
    subprocess.run(_search_cmd(train, valid, out), check=True, timeout=600, capture_output=True)
    assert (out / "arch.json").exists()
    cmd = _search_cmd(train, valid, out)
    cmd[cmd.index("--seed") + 1] = "4"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    (out / "history.csv").unlink()  # so that the kill waits for the rerun's first step
    kill_once_exists(cmd, out / "history.csv", env, deadline_s=300, poll_s=0.02)
    assert (out / "checkpoint.pt").exists(), "the kill came too late to test"
    assert not (out / "arch.json").exists() and not (out / "supernet.pt").exists()
