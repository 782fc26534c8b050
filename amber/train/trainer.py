"""Training a final model from scratch: the paper's recipe, resumable after a kill.

Recipe (AMBER's final training, every value in :class:`TrainConfig`): He-normal init,
Adam, max-norm on every conv/dense kernel (each output unit's weight vector is rescaled
to norm <= ``max_norm`` after each step), BCE on the logits, ReduceLROnPlateau on
validation AUROC (or the loss: ``lr_monitor``), early stopping on validation AUROC (mean
over features with both classes) after ``patience`` epochs without improvement, at most
``max_epochs`` epochs. The best epoch's weights are kept.

Outputs in ``out_dir``: ``model.pt`` + ``model.json`` (:mod:`amber.train.model_io`),
``epochs.csv`` (one row per epoch) and, while training, ``checkpoint.pt``.

Resume: after each epoch a checkpoint holds the model, optimiser, scheduler, early
stopping state, best weights, history and the torch RNG states; epoch ``e`` reads its
batches in the order ``iter_batches(seed, epoch=e)`` fixes. Rerunning the same command
after a kill continues after the last finished epoch and ends with the weights an
uninterrupted run ends with (bit-identical on CPU with the same thread count). The
checkpoint is deleted once the final outputs are written (a DeepSEA-size one is ~1 GB).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from amber.data.loader import (
    dataset_info,
    iter_batches,
    positive_rates,
    read_subsample,
    with_reverse_complement,
)
from amber.device import (
    autocast,
    pick_device,
    precision_name,
    resume_checkpoint,
    save_checkpoint,
    use_bf16,
)
from amber.fileio import atomic_path
from amber.metrics import aupr_per_feature, auroc_per_feature
from amber.nas.arch import Architecture
from amber.nas.child import count_parameters, he_init_
from amber.nas.ops import start_at_prior_
from amber.nas.space import load_space
from amber.progress import Progress
from amber.train.baselines import is_baseline_spec, load_baseline_spec
from amber.train.config import TrainConfig
from amber.train.model_io import (
    SIDECAR,
    WEIGHTS,
    baseline_description,
    build_model,
    nas_description,
    plain_state_dict,
    save_model,
)

log = logging.getLogger("amber")

CHECKPOINT = "checkpoint.pt"
EPOCHS = "epochs.csv"
EPOCH_FIELDS = ("epoch", "train_loss", "valid_loss", "valid_auroc", "valid_aupr", "lr", "seconds")


def describe_model(
    arch_path: str | Path,
    space_path: str | Path | None,
    seq_len: int,
    n_features: int,
    config: TrainConfig,
) -> dict[str, Any]:
    """Build keys (see :mod:`amber.train.model_io`) for an architecture or baseline JSON.

    Width and pool dropout come from ``config``; an architecture JSON's own optional
    ``width_multiplier``/``pool_dropout`` keys are ignored so every model of a run is
    scaled alike.
    """
    arch_path = Path(arch_path)
    try:
        data = json.loads(arch_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{arch_path}: cannot read architecture JSON: {err}") from err
    if isinstance(data, dict) and is_baseline_spec(data):
        spec = load_baseline_spec(arch_path)
        return baseline_description(
            spec, seq_len, n_features, width_multiplier=config.width_multiplier
        )
    if space_path is None:
        raise ValueError(f"{arch_path} is a NAS architecture: give its model space (--space)")
    arch = Architecture.from_json(data, source=str(arch_path))
    return nas_description(
        arch,
        load_space(space_path),
        seq_len,
        n_features,
        width_multiplier=config.width_multiplier,
        pool_dropout=config.pool_dropout,
    )


def kernels(model: nn.Module) -> list[nn.Parameter]:
    """The weights max-norm applies to: every conv and dense kernel."""
    return [m.weight for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Linear))]


@torch.no_grad()
def apply_max_norm_(weights: list[nn.Parameter], max_norm: float) -> None:
    """Rescale each output unit's weight vector (dim 0 slice) to L2 norm <= max_norm."""
    for w in weights:
        w.copy_(torch.renorm(w, p=2, dim=0, maxnorm=max_norm))


@torch.no_grad()
def predict_logits(
    model: nn.Module, x: torch.Tensor, batch_size: int, device: torch.device
) -> torch.Tensor:
    """Logits of ``x`` (on the CPU) in eval mode, float32 on the CPU."""
    model.eval()
    out = [
        model.forward_logits(x[i : i + batch_size].to(device)).float().cpu()
        for i in range(0, x.shape[0], batch_size)
    ]
    return torch.cat(out) if out else torch.empty(0)


def validation_metrics(logits: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Loss, mean AUROC and mean AUPR over features that have both classes."""
    loss = nn.functional.binary_cross_entropy_with_logits(logits, y).item()
    y_np, s_np = y.numpy(), logits.numpy()
    auroc = auroc_per_feature(y_np, s_np)
    defined = ~np.isnan(auroc)
    if not defined.any():
        raise ValueError("no feature has both classes in the validation set; use more samples")
    aupr = aupr_per_feature(y_np[:, defined], s_np[:, defined])
    return {
        "valid_loss": loss,
        "valid_auroc": float(np.mean(auroc[defined])),
        "valid_aupr": float(np.mean(aupr)),
    }


def _fingerprint(config: TrainConfig, description: Mapping, train: Path, valid: Path) -> str:
    """What a checkpoint must match to be resumed (the device may change)."""
    payload: dict[str, Any] = dataclasses.asdict(config)
    payload.pop("device")
    payload["model"] = description
    for key, path in (("train", train), ("valid", valid)):
        stat = Path(path).stat()
        payload[key] = [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _write_epochs(path: Path, history: list[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EPOCH_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)


def _rng_states(device: torch.device) -> dict[str, Any]:
    states: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def _set_rng_states(states: Mapping[str, Any], device: torch.device) -> None:
    torch.set_rng_state(states["cpu"])
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


def _check_datasets(train_h5: Path, valid_h5: Path) -> dict[str, Any]:
    info, vinfo = dataset_info(train_h5), dataset_info(valid_h5)
    for key in ("seq_len", "n_features"):
        if info[key] != vinfo[key]:
            raise ValueError(
                f"{train_h5} and {valid_h5} differ in {key}: {info[key]} vs {vinfo[key]}"
            )
    if info["features"] and vinfo["features"] and info["features"] != vinfo["features"]:
        raise ValueError(f"{train_h5} and {valid_h5} list different features")
    if info["n_samples"] == 0 or vinfo["n_samples"] == 0:
        raise ValueError(f"{train_h5} or {valid_h5} has no samples")
    return info


@dataclasses.dataclass
class FitState:
    """A training run between epochs: model, optimiser, scheduler and ``progress`` (epochs
    finished, early-stopping state, best weights, history). A checkpoint is its
    :meth:`state_dict`, which is how :func:`train_model` resumes."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau
    progress: dict[str, Any]

    @classmethod
    def start(cls, model: nn.Module, config: TrainConfig) -> FitState:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="max" if config.lr_monitor == "valid_auroc" else "min",
            factor=config.lr_factor,
            patience=config.lr_patience,
        )
        progress = {
            "epoch": 0,  # epochs finished
            "best_auroc": -math.inf,
            "best_epoch": 0,
            "bad_epochs": 0,
            "stopped": False,
            "history": [],
            "best_weights": plain_state_dict(model),
            "seconds": 0.0,
        }
        return cls(model, optimizer, scheduler, progress)

    @property
    def best_weights(self) -> dict[str, torch.Tensor]:
        """The best epoch's weights (``model.load_state_dict`` takes them)."""
        return self.progress["best_weights"]

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.progress["history"]

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "state": self.progress,
        }

    def load_state_dict(self, payload: Mapping[str, Any]) -> None:
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.progress = payload["state"]


Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def fit(
    model: nn.Module,
    train_batches: Callable[[int], Batches] | Batches,
    valid: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
    *,
    state: FitState | None = None,
    on_epoch: Callable[[FitState], None] | None = None,
    batches_per_epoch: int | None = None,
) -> FitState:
    """Train ``model`` with the recipe of ``config`` until early stopping or
    ``max_epochs``; no files are read or written.

    ``train_batches``: ``(x float (B, 4, L), y float (B, F))`` pairs, either a callable
    ``epoch -> batches`` (epochs count from 1) or an iterable read once per epoch (a
    list, a ``DataLoader``). ``valid``: ``(x, y)`` tensors scored after every epoch.
    ``state``: continue a run (:meth:`FitState.load_state_dict` of a checkpoint);
    ``on_epoch(state)`` runs after every epoch (checkpoints, logs). The model must
    already be on ``config.device`` and initialised (:func:`train_model` uses He-normal
    weights and :func:`amber.nas.ops.start_at_prior_`). Returns the final state; the
    best epoch's weights are ``state.best_weights``.
    """
    device = pick_device(config.device)
    bf16 = use_bf16(config.bf16, device)
    state = state or FitState.start(model, config)
    x_valid, y_valid = valid
    max_norm_weights = kernels(model) if config.max_norm > 0 else []
    loss_fn = nn.BCEWithLogitsLoss()
    p = state.progress
    while p["epoch"] < config.max_epochs and not p["stopped"]:
        epoch = p["epoch"] + 1
        t0 = time.monotonic()
        model.train()
        batches = train_batches(epoch) if callable(train_batches) else train_batches
        total, seen = 0.0, 0
        progress = Progress(batches, total=batches_per_epoch, desc=f"epoch {epoch}")
        for x, y in progress:
            if config.rc_augment:
                x, y = with_reverse_complement(x, y)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            state.optimizer.zero_grad(set_to_none=True)
            with autocast(device, bf16):
                logits = model.forward_logits(x)
            loss = loss_fn(logits.float(), y)  # baselines' logits may be bf16
            loss.backward()
            state.optimizer.step()
            apply_max_norm_(max_norm_weights, config.max_norm)
            total += loss.item() * x.shape[0]
            seen += x.shape[0]
            progress.set(loss=total / seen)

        # Validation in float32 whatever the training precision: baselines' bf16 logits
        # would tie, and the epoch to keep should not depend on the hardware.
        metrics = validation_metrics(
            predict_logits(model, x_valid, config.eval_batch_size, device), y_valid
        )
        lr = state.optimizer.param_groups[0]["lr"]
        state.scheduler.step(metrics[config.lr_monitor])
        if metrics["valid_auroc"] > p["best_auroc"]:
            p.update(best_auroc=metrics["valid_auroc"], best_epoch=epoch, bad_epochs=0)
            p["best_weights"] = plain_state_dict(model)
        else:
            p["bad_epochs"] += 1
        seconds = time.monotonic() - t0
        p["history"].append(
            {
                "epoch": epoch,
                "train_loss": total / max(seen, 1),
                **metrics,
                "lr": lr,
                "seconds": round(seconds, 3),
            }
        )
        p["epoch"] = epoch
        p["seconds"] += seconds
        p["stopped"] = p["bad_epochs"] >= config.patience
        if on_epoch is not None:  # before the log line: "epoch N" means it is saved
            on_epoch(state)
        log.info(
            "epoch %d: train_loss %.4f valid_loss %.4f valid_auroc %.4f valid_aupr %.4f "
            "lr %.2g (%.1f s)%s",
            epoch,
            p["history"][-1]["train_loss"],
            metrics["valid_loss"],
            metrics["valid_auroc"],
            metrics["valid_aupr"],
            lr,
            seconds,
            f"; no improvement for {config.patience} epochs, stopping" if p["stopped"] else "",
        )
    return state


def train_model(
    arch_path: str | Path,
    space_path: str | Path | None,
    train_h5: str | Path,
    valid_h5: str | Path,
    out_dir: str | Path,
    config: TrainConfig,
    *,
    name: str | None = None,
) -> dict[str, Any]:
    """Train (or resume training) one model; write model.pt, model.json, epochs.csv.

    ``arch_path`` is an architecture JSON (then ``space_path`` is its model space) or a
    baseline JSON (:mod:`amber.train.baselines`). Returns the sidecar dict. The file
    wrapper of :func:`fit`: datasets, checkpoint and resume, outputs.
    """
    out_dir, train_h5, valid_h5 = Path(out_dir), Path(train_h5), Path(valid_h5)
    out_dir.mkdir(parents=True, exist_ok=True)
    info = _check_datasets(train_h5, valid_h5)
    device = pick_device(config.device)
    bf16 = use_bf16(config.bf16, device)
    description = describe_model(arch_path, space_path, info["seq_len"], info["n_features"], config)
    fingerprint = _fingerprint(config, description, train_h5, valid_h5)

    torch.manual_seed(config.seed)
    model = he_init_(build_model(description)).to(device)
    state = FitState.start(model, config)

    ckpt_path = out_dir / CHECKPOINT
    ckpt = resume_checkpoint(ckpt_path, fingerprint, "training run")
    if ckpt is not None:
        state.load_state_dict(ckpt)
        _set_rng_states(ckpt["rng"], device)
        log.info("resuming training from %s after epoch %d", ckpt_path, state.progress["epoch"])
    else:  # a fresh start: no output of an earlier run may outlive a kill of this one
        for output in (WEIGHTS, SIDECAR, EPOCHS):
            (out_dir / output).unlink(missing_ok=True)
        # Read only here: a resumed training takes its biases from the checkpoint.
        start_at_prior_(model, positive_rates(train_h5))

    x_valid, y_valid = read_subsample(valid_h5, config.valid_samples, seed=config.seed)
    n_rows = info["n_samples"]
    per_epoch = n_rows if config.epoch_samples is None else min(n_rows, config.epoch_samples)
    n_batches = math.ceil(per_epoch / config.batch_size)
    log.info(
        "training %s: %d parameters, %d batches of %d per epoch, device %s, %s",
        name or out_dir.name,
        count_parameters(model),
        n_batches,
        config.batch_size,
        device,
        precision_name(bf16),
    )

    def epoch_batches(epoch: int) -> Batches:
        return iter_batches(
            train_h5,
            config.batch_size,
            seed=config.seed,
            epoch=epoch,
            max_samples=config.epoch_samples,
        )

    def on_epoch(s: FitState) -> None:
        save_checkpoint(ckpt_path, fingerprint, {**s.state_dict(), "rng": _rng_states(device)})
        _write_epochs(out_dir / EPOCHS, s.history)

    state = fit(
        model,
        epoch_batches,
        (x_valid, y_valid),
        config,
        state=state,
        on_epoch=on_epoch,
        batches_per_epoch=n_batches,
    )
    p = state.progress
    sidecar = {
        "name": name or out_dir.name,
        **description,
        "features": list(info["features"]),
        "n_parameters": count_parameters(model),
        "best_epoch": p["best_epoch"],
        "best_valid_auroc": p["best_auroc"],
        "epochs_run": p["epoch"],
        "stopped_early": p["stopped"],
        "train_seconds": round(p["seconds"], 1),
        "device": str(device),
        "train_config": dataclasses.asdict(config),
        "reverse_complement": config.rc_augment,
        "train_samples": n_rows,
        "valid_samples": int(x_valid.shape[0]),
    }
    _write_epochs(out_dir / EPOCHS, p["history"])
    save_model(out_dir, p["best_weights"], sidecar)
    ckpt_path.unlink(missing_ok=True)
    log.info(
        "best epoch %d (valid AUROC %.4f) of %d; wrote %s and %s in %s",
        p["best_epoch"],
        p["best_auroc"],
        p["epoch"],
        WEIGHTS,
        SIDECAR,
        out_dir,
    )
    return sidecar
