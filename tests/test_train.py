"""The train stage: early stopping keeps the best epoch, a killed run resumes to the
same weights, saved models load with weights_only=True, and the baselines."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from procs import kill_once_exists

from amber.nas.arch import Architecture, sample_uniform
from amber.nas.space import load_space, parse_space
from amber.train.baselines import BaselineSpecError, PlainCNN, load_baseline_spec
from amber.train.model_io import load_model, space_to_dict
from amber.train.trainer import (
    TrainConfig,
    kernels,
    predict_logits,
    train_model,
    validation_metrics,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPACE = ROOT / "config" / "model_spaces" / "demo.yaml"
BASELINES = ROOT / "config" / "baselines"
MOTIFS = ["GATAAG", "CACGTG", "TTGCGCAA"]
SEQ_LEN = 200


def write_split(path: Path, n: int, seed: int, *, random_labels: bool = False) -> None:
    """One-hot sequences; feature k is positive where motif k was planted. With
    ``random_labels`` the labels are then shuffled away from the sequences."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, SEQ_LEN))
    y = rng.random((n, len(MOTIFS))) < 0.3
    for i, j in zip(*np.nonzero(y), strict=True):
        motif = np.array(["ACGT".index(b) for b in MOTIFS[j]])
        pos = rng.integers(0, SEQ_LEN - len(motif))
        codes[i, pos : pos + len(motif)] = motif
    if random_labels:
        y = y[rng.permutation(n)]
    x = np.zeros((n, 4, SEQ_LEN), dtype=np.uint8)
    np.put_along_axis(x, codes[:, None, :], 1, axis=1)
    with h5py.File(path, "w") as h5:
        h5.create_dataset("x", data=x, chunks=(32, 4, SEQ_LEN))
        h5.create_dataset("y", data=y.astype(np.uint8), chunks=(32, len(MOTIFS)))
        h5.attrs["features"] = MOTIFS


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("train_data")
    write_split(folder / "train.h5", 320, seed=1)
    write_split(folder / "valid.h5", 160, seed=2)
    write_split(folder / "noise.h5", 160, seed=3, random_labels=True)
    arch = sample_uniform(load_space(DEMO_SPACE), np.random.default_rng(4))
    arch.save(folder / "arch.json")
    return {
        "train": folder / "train.h5",
        "valid": folder / "valid.h5",
        "noise": folder / "noise.h5",
        "arch": folder / "arch.json",
    }


def _epochs(out: Path) -> list[dict[str, str]]:
    with open(out / "epochs.csv") as handle:
        return list(csv.DictReader(handle))


def test_early_stopping_keeps_the_best_epoch(data: dict[str, Path], tmp_path: Path) -> None:
    """Validation labels are noise: AUROC peaks by chance and training stops `patience`
    epochs later; model.pt must hold the peak's weights, not the last epoch's."""
    torch.set_num_threads(1)
    config = TrainConfig(
        max_epochs=30, patience=3, batch_size=32, lr=3e-3, lr_patience=2, epoch_samples=96,
        eval_batch_size=80, width_multiplier=0.5, device="cpu",
    )  # fmt: skip
    info = train_model(data["arch"], DEMO_SPACE, data["train"], data["noise"], tmp_path, config)
    rows = _epochs(tmp_path)
    aurocs = [float(r["valid_auroc"]) for r in rows]
    best = int(np.argmax(aurocs)) + 1
    assert info["stopped_early"] and len(rows) < config.max_epochs
    assert len(rows) == best + config.patience
    assert info["best_epoch"] == best and info["epochs_run"] == len(rows)
    assert [int(r["epoch"]) for r in rows] == list(range(1, len(rows) + 1))
    assert not (tmp_path / "checkpoint.pt").exists()

    model = load_model(tmp_path)
    from amber.data.loader import read_subsample

    x, y = read_subsample(data["noise"], None, seed=config.seed)
    again = validation_metrics(predict_logits(model, x, 80, torch.device("cpu")), y)
    assert again["valid_auroc"] == pytest.approx(aurocs[best - 1], abs=1e-9)
    assert again["valid_auroc"] != pytest.approx(aurocs[-1], abs=1e-9)
    # Max-norm: every conv/dense output unit's weight vector has norm <= 0.9.
    for w in kernels(model):
        assert w.flatten(1).norm(dim=1).max().item() <= config.max_norm + 1e-5


def _plateau_lrs(values: list[float], mode: str, lr: float, patience: int) -> list[float]:
    """The learning rate of each epoch under ReduceLROnPlateau(factor 0.1, threshold
    1e-4 relative) stepped on ``values``, written out independently of torch."""
    best, bad, lrs = (-math.inf if mode == "max" else math.inf), 0, []
    for value in values:
        lrs.append(lr)
        better = value > best * (1 + 1e-4) if mode == "max" else value < best * (1 - 1e-4)
        best, bad = (value, 0) if better else (best, bad + 1)
        if bad > patience:
            lr, bad = lr * 0.1, 0
    return lrs


def test_learning_rate_follows_validation_auroc_by_default(
    data: dict[str, Path], tmp_path: Path
) -> None:
    """The paper's signal: the loss may rise while AUROC improves; the schedule must not
    cut the learning rate then. With lr_monitor valid_loss it follows the loss."""
    torch.set_num_threads(1)
    schedules = {}
    for monitor, mode in (("valid_auroc", "max"), ("valid_loss", "min")):
        config = TrainConfig(
            max_epochs=12, patience=12, batch_size=32, lr=3e-3, lr_patience=1, epoch_samples=96,
            eval_batch_size=80, width_multiplier=0.5, device="cpu", lr_monitor=monitor,
        )  # fmt: skip
        assert TrainConfig().lr_monitor == "valid_auroc"
        train_model(
            data["arch"], DEMO_SPACE, data["train"], data["noise"], tmp_path / monitor, config
        )
        rows = _epochs(tmp_path / monitor)
        lrs = [float(r["lr"]) for r in rows]
        values = [float(r[monitor]) for r in rows]
        assert lrs == pytest.approx(_plateau_lrs(values, mode, 3e-3, 1), rel=1e-6)
        schedules[monitor] = lrs
    assert min(schedules["valid_auroc"]) < 3e-3, "the schedule never acted: test too weak"


def test_rc_augmented_model_averages_both_strands(data: dict[str, Path], tmp_path: Path) -> None:
    from amber.data.loader import reverse_complement
    from amber.train.model_io import ReverseComplementAverage

    torch.set_num_threads(1)
    config = TrainConfig(
        max_epochs=1, batch_size=32, epoch_samples=64, eval_batch_size=80,
        width_multiplier=0.5, device="cpu", rc_augment=True,
    )  # fmt: skip
    info = train_model(data["arch"], DEMO_SPACE, data["train"], data["valid"], tmp_path, config)
    assert info["reverse_complement"] is True
    model = load_model(tmp_path)
    assert isinstance(model, ReverseComplementAverage)
    assert not isinstance(load_model(tmp_path, rc_average=False), ReverseComplementAverage)
    from amber.data.loader import read_subsample

    x, _ = read_subsample(data["valid"], 8, seed=0)
    with torch.no_grad():
        for i in range(len(x)):  # one sequence at a time: no batch-size effects
            a, b = model(x[i : i + 1]), model(reverse_complement(x[i : i + 1]))
            assert torch.equal(a, b)


def _train_cmd(data: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "amber.cli", "train", "--arch", str(data["arch"]),
        "--space", str(DEMO_SPACE), "--train", str(data["train"]), "--valid", str(data["valid"]),
        "--out", str(out), "--max-epochs", "8", "--patience", "8", "--batch-size", "32",
        "--eval-batch-size", "80", "--width-multiplier", "0.5", "--device", "cpu", *extra,
    ]  # fmt: skip


def test_training_resumes_after_kill_with_identical_weights(
    data: dict[str, Path], tmp_path: Path
) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    straight = tmp_path / "straight"
    subprocess.run(_train_cmd(data, straight), check=True, env=env, timeout=300)

    killed = tmp_path / "killed"
    kill_once_exists(
        _train_cmd(data, killed), killed / "checkpoint.pt", env, deadline_s=120, poll_s=0.02
    )
    assert not (killed / "model.pt").exists(), "the kill came too late to test a resume"

    refused = subprocess.run(
        _train_cmd(data, killed, "--lr", "0.01"), env=env, capture_output=True, text=True
    )
    assert refused.returncode == 1
    assert "belongs to a training run with other settings" in refused.stderr

    done = subprocess.run(
        _train_cmd(data, killed), env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "resuming training" in done.stderr

    a = torch.load(straight / "model.pt", weights_only=True)
    b = torch.load(killed / "model.pt", weights_only=True)
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # Byte for byte too (sha256 checks): no temporary file name recorded inside the zip.
    assert (straight / "model.pt").read_bytes() == (killed / "model.pt").read_bytes()
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in _epochs(straight)]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in _epochs(killed)]
    assert len(strip) == 8


@pytest.fixture(scope="module")
def trained(data: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A NAS model and a narrow DeepSEA, two epochs each."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("models")
    config = TrainConfig(
        max_epochs=2, batch_size=32, epoch_samples=64, eval_batch_size=80,
        width_multiplier=0.5, device="cpu",
    )  # fmt: skip
    train_model(data["arch"], DEMO_SPACE, data["train"], data["valid"], out / "nas", config)
    narrow = TrainConfig(**{**config.__dict__, "width_multiplier": 0.05})
    train_model(BASELINES / "deepsea.json", None, data["train"], data["valid"], out / "ds", narrow)
    return {"nas": out / "nas", "baseline": out / "ds"}


@pytest.mark.parametrize("kind", ["nas", "baseline"])
def test_saved_model_round_trip(trained: dict[str, Path], kind: str) -> None:
    folder = trained[kind]
    weights = torch.load(folder / "model.pt", weights_only=True)
    assert type(weights) is dict and all(isinstance(v, torch.Tensor) for v in weights.values())
    info = json.loads((folder / "model.json").read_text())
    assert info["kind"] == kind and info["features"] == MOTIFS
    assert info["name"] == folder.name  # the default name, not a file's (a shadowing bug)

    model = load_model(folder)
    assert info["n_parameters"] == sum(p.numel() for p in model.parameters())
    assert not model.training
    assert list(model.state_dict()) == list(weights)  # parameter order as saved
    x = torch.rand(5, 4, SEQ_LEN)
    with torch.no_grad():
        probs = model(x)
        again = load_model(folder)(x)
    assert probs.shape == (5, len(MOTIFS))
    assert ((probs >= 0) & (probs <= 1)).all()
    assert torch.equal(probs, again)
    assert torch.allclose(probs, model.forward_logits(x).sigmoid())


def test_baselines_build_and_match_the_paper_size() -> None:
    for name in ("cnn3", "deepsea"):
        spec = load_baseline_spec(BASELINES / f"{name}.json")
        model = PlainCNN(spec, 1000, 12, width_multiplier=0.05)
        out = model.eval()(torch.rand(3, 4, 1000))
        assert out.shape == (3, 12) and ((out > 0) & (out < 1)).all()
    with torch.device("meta"):  # counts 52.8M parameters without allocating them
        deepsea = PlainCNN(load_baseline_spec(BASELINES / "deepsea.json"), 1000, 919)
    assert sum(p.numel() for p in deepsea.parameters()) == 52_843_119  # paper: 52.8 million


def test_global_max_baseline_is_position_free() -> None:
    """conv -> global max-pool: a motif scores the same wherever it sits in the window,
    unlike the flatten head's position-specific weights."""
    torch.manual_seed(0)
    spec = load_baseline_spec(ROOT / "config" / "baselines" / "conv_globalmax.json")
    model = PlainCNN(spec, 300, 2).eval()
    flat = PlainCNN({**spec, "head_pool": "flatten"}, 300, 2).eval()
    x = torch.full((2, 4, 300), 0.25)
    motif = torch.eye(4)[torch.tensor([0, 1, 2, 3, 3, 2, 1, 0] * 2)].T  # (4, 16)
    x[0, :, 50:66], x[1, :, 200:216] = motif, motif
    with torch.no_grad():
        torch.testing.assert_close(model(x)[0], model(x)[1], rtol=0, atol=1e-6)
        assert (flat(x)[0] - flat(x)[1]).abs().max() > 1e-4
    with pytest.raises(BaselineSpecError, match="head_pool"):
        PlainCNN({**spec, "head_pool": "sum"}, 300, 2)


def test_bad_baseline_names_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    spec = {"baseline": "x", "conv": [{"filters": 8, "kernal": 3}], "hidden": 4}
    bad.write_text(json.dumps(spec))
    with pytest.raises(BaselineSpecError, match=r"bad.json: key 'conv\[0\].kernal'"):
        load_baseline_spec(bad)


def test_space_dict_round_trip() -> None:
    for name in ("demo", "amber_seq"):
        space = load_space(ROOT / "config" / "model_spaces" / f"{name}.yaml")
        assert parse_space(space_to_dict(space)) == space
        json.dumps(space_to_dict(space))


def test_arch_options_do_not_override_the_config(data: dict[str, Path], tmp_path: Path) -> None:
    from amber.train.trainer import describe_model

    arch = Architecture.load(data["arch"]).with_options(width_multiplier=3.0)
    arch.save(tmp_path / "arch.json")
    desc = describe_model(tmp_path / "arch.json", DEMO_SPACE, SEQ_LEN, 3, TrainConfig())
    assert desc["width_multiplier"] == 2.0 and "width_multiplier" not in desc["arch"]
    with pytest.raises(ValueError, match="give its model space"):
        describe_model(tmp_path / "arch.json", None, SEQ_LEN, 3, TrainConfig())


def test_selene_loads_the_saved_weights(trained: dict[str, Path]) -> None:
    """Selene maps saved weights onto a freshly built model by position."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # selene imports pkg_resources
        from selene_sdk.utils import load_model_from_state_dict

    from amber.train.model_io import build_model, read_model_info

    for folder in trained.values():
        weights = torch.load(folder / "model.pt", weights_only=True)
        fresh = build_model(read_model_info(folder))
        model = load_model_from_state_dict(weights, fresh).eval()
        x = torch.rand(4, 4, SEQ_LEN)
        with torch.no_grad():
            assert torch.equal(model(x), load_model(folder)(x))


def test_truncated_model_file_is_named(trained: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    from amber.train.model_io import load_model

    model_dir = tmp_path / "model"
    shutil.copytree(trained["nas"], model_dir)
    weights = model_dir / "model.pt"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(RuntimeError, match=f"{weights} is not a readable model weights file .*"
                       "retrain the model to rewrite it"):  # fmt: skip
        load_model(model_dir)
    weights.write_bytes(b"")
    with pytest.raises(RuntimeError, match=f"{weights} is not a readable model weights file"):
        load_model(model_dir)
