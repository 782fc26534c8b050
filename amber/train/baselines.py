"""Plain (non-residual) CNN baselines: the paper's 3-layer CNN and DeepSEA.

The NAS child builder (:mod:`amber.nas.child`) cannot express them: its convolutions are
"same"-padded and followed by BatchNorm, its pools keep the length (stride 1) and its
only downsampling is the factorised reduction between blocks. DeepSEA uses "valid"
convolutions with biases and no BatchNorm, and max-pools with stride 4, and its
52.8M parameters follow from exactly that (1000 bp -> 993 -> 248 -> 241 -> 60 -> 53).
So baselines get this second, equally small builder, described by a JSON file::

    {"baseline": "deepsea",
     "conv": [{"filters": 320, "kernel": 8, "padding": "valid", "pool": 4, "dropout": 0.2},
              {"filters": 480, "kernel": 8, "padding": "valid", "pool": 4, "dropout": 0.2},
              {"filters": 960, "kernel": 8, "padding": "valid", "pool": 1, "dropout": 0.5}],
     "hidden": 925,
     "hidden_dropout": 0.0}

Each conv block is Conv1d (with bias) -> ReLU -> max-pool ``pool``/``pool`` (floor; 1 = no
pool) -> dropout; the head is flatten (or, with ``"head_pool": "global_max"`` or
``"global_avg"``, one value per channel: position-free, few weights, for small data) ->
dense ``hidden`` + ReLU -> dropout -> dense F (logits; :meth:`PlainCNN.forward` applies
the sigmoid). ``width_multiplier`` scales the
filters and the hidden units alike (the demo trains narrow baselines).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from amber.nas.ops import N_BASES, Dropout, HeadPool, check_input, to_network_layout
from amber.nas.space import HEAD_POOLS

PADDINGS = ("same", "valid")
_CONV_KEYS = {"filters", "kernel", "padding", "pool", "dropout"}
_TOP_KEYS = {"baseline", "description", "conv", "hidden", "hidden_dropout", "head_pool"}


class BaselineSpecError(ValueError):
    """A malformed baseline JSON; the message names the file and the key."""


def load_baseline_spec(path: str | Path) -> dict[str, Any]:
    """Read and check a baseline JSON file (see the module docstring)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        raise BaselineSpecError(f"{path}: cannot read baseline: {err}") from err
    except json.JSONDecodeError as err:
        raise BaselineSpecError(f"{path}: invalid JSON: {err}") from err
    return check_baseline_spec(data, source=str(path))


def is_baseline_spec(data: Mapping[str, Any]) -> bool:
    """True for a baseline JSON object, False for a NAS architecture JSON object."""
    return "baseline" in data


def check_baseline_spec(data: Any, source: str = "<json>") -> dict[str, Any]:
    """Validate a parsed baseline object; return it with defaults filled in."""

    def fail(key: str, problem: str) -> BaselineSpecError:
        return BaselineSpecError(f"{source}: key {key!r}: {problem}")

    if not isinstance(data, Mapping):
        raise BaselineSpecError(f"{source}: expected a JSON object, got {type(data).__name__}")
    for key in data:
        if key not in _TOP_KEYS:
            raise fail(key, f"unknown key; allowed: {sorted(_TOP_KEYS)}")
    for key in ("baseline", "conv", "hidden"):
        if key not in data:
            raise fail(key, "required key is missing")
    if not isinstance(data["baseline"], str) or not data["baseline"]:
        raise fail("baseline", f"must be a non-empty name, got {data['baseline']!r}")
    convs = data["conv"]
    if not isinstance(convs, list) or not convs:
        raise fail("conv", "must be a non-empty list of conv blocks")
    out_convs = []
    for i, block in enumerate(convs):
        where = f"conv[{i}]"
        if not isinstance(block, Mapping):
            raise fail(where, f"must be an object, got {block!r}")
        for key in block:
            if key not in _CONV_KEYS:
                raise fail(f"{where}.{key}", f"unknown key; allowed: {sorted(_CONV_KEYS)}")
        for key in ("filters", "kernel"):
            if key not in block:
                raise fail(f"{where}.{key}", "required key is missing")
        full = {"padding": "valid", "pool": 1, "dropout": 0.0, **block}
        for key in ("filters", "kernel", "pool"):
            _positive_int(full[key], lambda p, k=f"{where}.{key}": fail(k, p))
        if full["padding"] not in PADDINGS:
            raise fail(f"{where}.padding", f"must be one of {PADDINGS}, got {full['padding']!r}")
        _probability(full["dropout"], lambda p, k=f"{where}.dropout": fail(k, p))
        out_convs.append(full)
    _positive_int(data["hidden"], lambda p: fail("hidden", p))
    hidden_dropout = data.get("hidden_dropout", 0.0)
    _probability(hidden_dropout, lambda p: fail("hidden_dropout", p))
    head_pool = data.get("head_pool", "flatten")
    if head_pool not in HEAD_POOLS:
        raise fail("head_pool", f"must be one of {list(HEAD_POOLS)}, got {head_pool!r}")
    return {
        "baseline": data["baseline"],
        **({"description": data["description"]} if "description" in data else {}),
        "conv": out_convs,
        "hidden": data["hidden"],
        "hidden_dropout": float(hidden_dropout),
        "head_pool": head_pool,
    }


def _positive_int(value: Any, fail) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(f"must be a positive integer, got {value!r}")


def _probability(value: Any, fail) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise fail(f"must be a number in [0, 1), got {value!r}")


def _scaled(n: int, width: float) -> int:
    return max(1, int(round(n * width)))


class ConvBlock(nn.Module):
    """Conv1d (bias) -> ReLU -> max-pool (floor) -> dropout.

    Computed on the NAS networks' layout, ``(B, C, 1, L)`` channels-last (see
    :mod:`amber.nas.ops`); the weights keep their ``Conv1d`` shapes.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, padding: str, pool: int, p: float):
        super().__init__()
        self.conv = nn.Conv1d(in_ch, out_ch, kernel)
        # "same" as in Keras: (k-1)//2 zeros left, the rest right (explicit, so that even
        # kernels need no padded copy inside conv1d and raise no warning).
        left = (kernel - 1) // 2
        self.same_pad = (left, kernel - 1 - left) if padding == "same" else None
        self.pool = pool
        # Modules, not functions, so that DeepLIFT's rules attach (amber.interpret).
        self.act = nn.ReLU()
        self.max_pool = nn.MaxPool2d((1, pool), (1, pool)) if pool > 1 else nn.Identity()
        self.dropout = Dropout(p) if p > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        if self.same_pad is not None:
            x = F.pad(x, self.same_pad)
        h = self.act(F.conv2d(x, self.conv.weight.unsqueeze(2), self.conv.bias))
        return self.dropout(self.max_pool(h))

    def out_length(self, length: int) -> int:
        if self.same_pad is None:
            length -= self.conv.kernel_size[0] - 1
        return length // self.pool


class PlainCNN(nn.Module):
    """A sequential CNN from a baseline spec; input (B, 4, L), output (B, F) probabilities."""

    def __init__(
        self, spec: Mapping[str, Any], seq_len: int, n_features: int, width_multiplier: float = 1.0
    ) -> None:
        super().__init__()
        spec = check_baseline_spec(spec)
        if width_multiplier <= 0:
            raise ValueError(f"width_multiplier must be > 0, got {width_multiplier}")
        self.name = spec["baseline"]
        self.seq_len = seq_len
        self.n_features = n_features
        self.width_multiplier = width_multiplier
        blocks, channels, length = [], N_BASES, seq_len
        for i, c in enumerate(spec["conv"]):
            out = _scaled(c["filters"], width_multiplier)
            block = ConvBlock(channels, out, c["kernel"], c["padding"], c["pool"], c["dropout"])
            length = block.out_length(length)
            if length < 1:
                raise ValueError(
                    f"baseline {self.name!r}: seq_len {seq_len} is too short; nothing is left "
                    f"after conv block {i}"
                )
            blocks.append(block)
            channels = out
        self.convs = nn.ModuleList(blocks)
        hidden = _scaled(spec["hidden"], width_multiplier)
        head_pool = spec["head_pool"]
        self.collapse = HeadPool(head_pool, length)
        self.fc1 = nn.Linear(channels * (length if head_pool == "flatten" else 1), hidden)
        self.act = nn.ReLU()
        self.hidden_dropout = Dropout(spec["hidden_dropout"])
        self.fc2 = nn.Linear(hidden, n_features)

    def forward_logits(self, x: Tensor) -> Tensor:
        check_input(x, self.seq_len)
        x = to_network_layout(x)
        for block in self.convs:
            x = block(x)
        return self.fc2(self.hidden_dropout(self.act(self.fc1(self.collapse(x)))))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_logits(x).sigmoid()

    def extra_repr(self) -> str:
        return (
            f"baseline={self.name!r}, seq_len={self.seq_len}, n_features={self.n_features}, "
            f"width_multiplier={self.width_multiplier}"
        )
