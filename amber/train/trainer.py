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
from collections.abc import Mapping
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
from amber.device import autocast, pick_device, precision_name, resume_threads, use_bf16
from amber.fileio import atomic_path, load_torch, save_torch
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
    baseline JSON (:mod:`amber.train.baselines`). Returns the sidecar dict.
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
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="max" if config.lr_monitor == "valid_auroc" else "min",
        factor=config.lr_factor,
        patience=config.lr_patience,
    )
    max_norm_weights = kernels(model) if config.max_norm > 0 else []
    state: dict[str, Any] = {
        "epoch": 0,  # epochs finished
        "best_auroc": -math.inf,
        "best_epoch": 0,
        "bad_epochs": 0,
        "stopped": False,
        "history": [],
        "best_weights": plain_state_dict(model),
        "seconds": 0.0,
    }

    ckpt_path = out_dir / CHECKPOINT
    if ckpt_path.exists():
        ckpt = load_torch(ckpt_path)
        if ckpt.get("fingerprint") != fingerprint:
            raise RuntimeError(
                f"{ckpt_path} belongs to a training run with other settings or data; "
                "delete it to start afresh"
            )
        resume_threads(ckpt.get("threads"), ckpt_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        state = ckpt["state"]
        _set_rng_states(ckpt["rng"], device)
        log.info("resuming training from %s after epoch %d", ckpt_path, state["epoch"])
    else:  # a fresh start: no output of an earlier run may outlive a kill of this one
        for output in (WEIGHTS, SIDECAR, EPOCHS):
            (out_dir / output).unlink(missing_ok=True)
        # Read only here: a resumed training takes its biases from the checkpoint.
        start_at_prior_(model, positive_rates(train_h5))

    x_valid, y_valid = read_subsample(valid_h5, config.valid_samples, seed=config.seed)
    loss_fn = nn.BCEWithLogitsLoss()
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

    while state["epoch"] < config.max_epochs and not state["stopped"]:
        epoch = state["epoch"] + 1
        t0 = time.monotonic()
        model.train()
        batches = iter_batches(
            train_h5,
            config.batch_size,
            seed=config.seed,
            epoch=epoch,
            max_samples=config.epoch_samples,
        )
        total, seen = 0.0, 0
        progress = Progress(batches, total=n_batches, desc=f"epoch {epoch}")
        for x, y in progress:
            if config.rc_augment:
                x, y = with_reverse_complement(x, y)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, bf16):
                logits = model.forward_logits(x)
            loss = loss_fn(logits.float(), y)  # baselines' logits may be bf16
            loss.backward()
            optimizer.step()
            apply_max_norm_(max_norm_weights, config.max_norm)
            total += loss.item() * x.shape[0]
            seen += x.shape[0]
            progress.set(loss=total / seen)

        # Validation in float32 whatever the training precision: baselines' bf16 logits
        # would tie, and the epoch to keep should not depend on the hardware.
        metrics = validation_metrics(
            predict_logits(model, x_valid, config.eval_batch_size, device), y_valid
        )
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step(metrics[config.lr_monitor])
        if metrics["valid_auroc"] > state["best_auroc"]:
            state.update(best_auroc=metrics["valid_auroc"], best_epoch=epoch, bad_epochs=0)
            state["best_weights"] = plain_state_dict(model)
        else:
            state["bad_epochs"] += 1
        seconds = time.monotonic() - t0
        state["history"].append(
            {
                "epoch": epoch,
                "train_loss": total / max(seen, 1),
                **metrics,
                "lr": lr,
                "seconds": round(seconds, 3),
            }
        )
        state["epoch"] = epoch
        state["seconds"] += seconds
        state["stopped"] = state["bad_epochs"] >= config.patience
        checkpoint = {
            "fingerprint": fingerprint,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "state": state,
            "rng": _rng_states(device),
            "threads": torch.get_num_threads(),
        }
        save_torch(checkpoint, ckpt_path)
        _write_epochs(out_dir / EPOCHS, state["history"])
        log.info(
            "epoch %d: train_loss %.4f valid_loss %.4f valid_auroc %.4f valid_aupr %.4f "
            "lr %.2g (%.1f s)%s",
            epoch,
            state["history"][-1]["train_loss"],
            metrics["valid_loss"],
            metrics["valid_auroc"],
            metrics["valid_aupr"],
            lr,
            seconds,
            f"; no improvement for {config.patience} epochs, stopping" if state["stopped"] else "",
        )

    sidecar = {
        "name": name or out_dir.name,
        **description,
        "features": list(info["features"]),
        "n_parameters": count_parameters(model),
        "best_epoch": state["best_epoch"],
        "best_valid_auroc": state["best_auroc"],
        "epochs_run": state["epoch"],
        "stopped_early": state["stopped"],
        "train_seconds": round(state["seconds"], 1),
        "device": str(device),
        "train_config": dataclasses.asdict(config),
        "reverse_complement": config.rc_augment,
        "train_samples": n_rows,
        "valid_samples": int(x_valid.shape[0]),
    }
    _write_epochs(out_dir / EPOCHS, state["history"])
    save_model(out_dir, state["best_weights"], sidecar)
    ckpt_path.unlink(missing_ok=True)
    log.info(
        "best epoch %d (valid AUROC %.4f) of %d; wrote %s and %s in %s",
        state["best_epoch"],
        state["best_auroc"],
        state["epoch"],
        WEIGHTS,
        SIDECAR,
        out_dir,
    )
    return sidecar
