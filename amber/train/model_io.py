"""Trained models on disk: ``model.pt`` (weights) + ``model.json`` (how to rebuild them).

``model.pt`` is a plain ``state_dict`` of CPU tensors (loads with
``torch.load(weights_only=True)``, as Selene does). ``model.json`` holds::

    {"format": "amber-model/1",
     "name": "searched_1",
     "kind": "nas" | "baseline",
     "arch": <architecture JSON (nas) or baseline JSON (baseline)>,
     "model_space": <the model space as its YAML mapping> (nas) | null,
     "seq_len": 1000, "n_features": 919,
     "width_multiplier": 2.0, "pool_dropout": 0.1 (null for baselines),
     "features": [names in output order],
     "n_parameters": ..., plus training facts (best_epoch, best_valid_auroc, ...)}

The build keys (kind, arch, model_space, seq_len, n_features, width_multiplier,
pool_dropout) are all :func:`build_model` needs, so training and loading build the
model by the same call, and the parameter order is fixed by the description alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from amber.data.loader import reverse_complement
from amber.fileio import atomic_path, load_torch, save_torch
from amber.nas.arch import Architecture
from amber.nas.child import build_child
from amber.nas.space import OP_TYPES, ModelSpace, parse_space
from amber.train.baselines import PlainCNN, check_baseline_spec

FORMAT = "amber-model/1"
WEIGHTS = "model.pt"
SIDECAR = "model.json"
BUILD_KEYS = ("kind", "arch", "model_space", "seq_len", "n_features", "width_multiplier")


def space_to_dict(space: ModelSpace) -> dict[str, Any]:
    """The YAML mapping of a model space; ``parse_space(space_to_dict(s)) == s``."""
    ops = {}
    for op in space.ops:
        ops[op.name] = {"type": op.type, **{p: getattr(op, p) for p in OP_TYPES[op.type]}}
    return {
        "name": space.name,
        "num_layers": space.num_layers,
        "layers_per_block": space.layers_per_block,
        "filters": list(space.filters),
        "reduction_pool": space.reduction_pool,
        "stem": {"kernel": _one_or_list(space.stem_kernels)},
        "ops": ops,
        "skips": {"enabled": space.skips_enabled, "max_lookback": space.max_lookback},
        "layer_dropout": space.layer_dropout,
        "head": {
            "hidden": space.head_hidden,
            "dropout": space.head_dropout,
            "pool": _one_or_list(space.head_pools),
        },
    }


def _one_or_list(candidates: tuple) -> Any:
    return candidates[0] if len(candidates) == 1 else list(candidates)


def nas_description(
    arch: Architecture,
    space: ModelSpace,
    seq_len: int,
    n_features: int,
    *,
    width_multiplier: float,
    pool_dropout: float,
) -> dict[str, Any]:
    """Build keys of a searched/sampled model (the options live here, not in ``arch``)."""
    arch.validate(space)
    return {
        "kind": "nas",
        "arch": arch.without_options().to_json(),
        "model_space": space_to_dict(space),
        "seq_len": seq_len,
        "n_features": n_features,
        "width_multiplier": float(width_multiplier),
        "pool_dropout": float(pool_dropout),
    }


def baseline_description(
    spec: Mapping[str, Any], seq_len: int, n_features: int, *, width_multiplier: float
) -> dict[str, Any]:
    """Build keys of a baseline model."""
    return {
        "kind": "baseline",
        "arch": check_baseline_spec(spec),
        "model_space": None,
        "seq_len": seq_len,
        "n_features": n_features,
        "width_multiplier": float(width_multiplier),
        "pool_dropout": None,
    }


def build_model(description: Mapping[str, Any], source: str = "<model description>") -> nn.Module:
    """A freshly initialised (PyTorch default init) model from its description."""
    missing = [k for k in BUILD_KEYS if k not in description]
    if missing:
        raise ValueError(f"{source}: missing key(s) {missing}")
    kind = description["kind"]
    seq_len, n_features = int(description["seq_len"]), int(description["n_features"])
    width = float(description["width_multiplier"])
    if kind == "nas":
        space = parse_space(description["model_space"], source=f"{source} model_space")
        arch = Architecture.from_json(description["arch"], source=f"{source} arch")
        return build_child(
            arch,
            space,
            seq_len,
            n_features,
            width_multiplier=width,
            pool_dropout=float(description.get("pool_dropout") or 0.0),
        )
    if kind == "baseline":
        spec = check_baseline_spec(description["arch"], source=f"{source} arch")
        return PlainCNN(spec, seq_len, n_features, width_multiplier=width)
    raise ValueError(f"{source}: unknown model kind {kind!r}; expected 'nas' or 'baseline'")


def plain_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU copies of the weights (nothing but tensors inside)."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def save_model(
    out_dir: str | Path, state_dict: Mapping[str, torch.Tensor], info: Mapping[str, Any]
) -> None:
    """Write ``model.pt`` and ``model.json`` atomically (weights first, sidecar last)."""
    out_dir = Path(out_dir)
    info = {"format": FORMAT, **info}
    json.dumps(info)  # fail before writing anything if the sidecar is not plain JSON
    save_torch(dict(state_dict), out_dir / WEIGHTS)
    with atomic_path(out_dir / SIDECAR) as tmp:
        tmp.write_text(json.dumps(info, indent=1) + "\n")


def read_model_info(model_dir: str | Path) -> dict[str, Any]:
    """The parsed ``model.json`` of a model folder."""
    path = Path(model_dir) / SIDECAR
    try:
        info = json.loads(path.read_text())
    except OSError as err:
        raise FileNotFoundError(f"{path}: cannot read model sidecar: {err}") from err
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON: {err}") from err
    if info.get("format") != FORMAT:
        raise ValueError(f"{path}: format {info.get('format')!r} is not {FORMAT!r}")
    return info


class ReverseComplementAverage(nn.Module):
    """A model whose predictions are the mean over a sequence and its reverse complement,
    so both strands score alike (for a model trained with reverse-complement
    augmentation). Its state_dict is the wrapped model's, in the same order."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.model(x) + self.model(reverse_complement(x))) / 2

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model.forward_logits
        return (logits(x) + logits(reverse_complement(x))) / 2


def load_model(
    model_dir: str | Path, device: str | torch.device = "cpu", rc_average: bool | None = None
) -> nn.Module:
    """Rebuild the model of ``model_dir`` and load its weights; eval mode.

    The module takes float (B, 4, seq_len) one-hot A/C/G/T and returns (B, F)
    probabilities; ``forward_logits`` gives the logits. ``rc_average`` wraps it in
    :class:`ReverseComplementAverage`; None (default) does so when the model was trained
    with reverse-complement augmentation (``reverse_complement`` in model.json).
    """
    model_dir = Path(model_dir)
    info = read_model_info(model_dir)
    model = build_model(info, source=str(model_dir / SIDECAR))
    weights = load_torch(
        model_dir / WEIGHTS, kind="model weights file", fix="retrain the model to rewrite it"
    )
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as err:
        raise ValueError(
            f"{model_dir / WEIGHTS}: weights do not fit the model in {SIDECAR}: {err}"
        ) from None
    if rc_average is None:
        rc_average = bool(info.get("reverse_complement", False))
    if rc_average:
        model = ReverseComplementAverage(model)
    return model.to(device).eval()
