"""The Architecture type, its JSON form (the contract between stages), and a uniform sampler.

JSON form::

    {"model_space": "amber_seq",
     "layers": [{"op": "conv8", "skips": []},
                {"op": "maxpool4", "skips": [1]},
                {"op": "identity", "skips": [0, 1]}, ...],
     "stem_kernel": 19,            # only when the space searches the stem kernel
     "head": "global_max",         # only when the space searches the head
     "width_multiplier": 2.0,      # optional, retraining only
     "pool_dropout": 0.1}          # optional, retraining only

Layer ``i`` (0-based) has ``skips`` of length ``i``; ``skips[j] == 1`` adds layer ``j``'s
output into layer ``i``'s output before that layer's BatchNorm. Layer ``i``'s input is
layer ``i-1``'s output (the stem's output for layer 0), so ``skips[i-1] == 1`` is a plain
residual connection around layer ``i``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from amber.fileio import atomic_path
from amber.nas.space import WHOLE_NETWORK_PARTS, ModelSpace

# Optional per-model keys read at retraining time: name -> (valid range, its description).
OPTION_RANGES: Mapping[str, tuple[Callable[[float], bool], str]] = {
    "width_multiplier": (lambda v: 0 < v < math.inf, "> 0"),
    "pool_dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
}


class ArchitectureError(ValueError):
    """A malformed architecture, or one that does not fit its model space."""


@dataclass(frozen=True)
class Architecture:
    """One op name and one 0/1 skip tuple per layer, plus optional retraining options.

    ``options`` is a sorted tuple of ``(key, value)`` pairs from :data:`OPTION_RANGES`
    so the type stays hashable; search-time architectures leave it empty.
    ``stem_kernel`` and ``head`` are set when the model space searches them (see
    :attr:`ModelSpace.decisions`); None means the space's only candidate.
    """

    model_space: str
    ops: tuple[str, ...]
    skips: tuple[tuple[int, ...], ...]
    options: tuple[tuple[str, float], ...] = ()
    stem_kernel: int | None = None
    head: str | None = None

    def __post_init__(self) -> None:
        # Normalise lists (e.g. from JSON) to tuples so equal archs hash equally.
        object.__setattr__(self, "ops", tuple(self.ops))
        object.__setattr__(self, "skips", tuple(tuple(int(v) for v in s) for s in self.skips))
        object.__setattr__(self, "options", _check_options(self.options))
        if len(self.ops) != len(self.skips):
            raise ArchitectureError(
                f"{len(self.ops)} ops but {len(self.skips)} skip lists; need one per layer"
            )
        for i, (op, skip) in enumerate(zip(self.ops, self.skips, strict=True)):
            if not isinstance(op, str):
                raise ArchitectureError(f"layer {i}: op must be a string, got {op!r}")
            if len(skip) != i:
                raise ArchitectureError(
                    f"layer {i}: skips must have length {i} (one per earlier layer), "
                    f"got {len(skip)}"
                )
            if any(v not in (0, 1) for v in skip):
                raise ArchitectureError(f"layer {i}: skips must be 0 or 1, got {list(skip)}")

    @property
    def num_layers(self) -> int:
        return len(self.ops)

    @property
    def num_skips(self) -> int:
        return sum(sum(s) for s in self.skips)

    def skip_sources(self, layer: int) -> tuple[int, ...]:
        """Indices of the earlier layers whose outputs are added into ``layer``."""
        return tuple(j for j, v in enumerate(self.skips[layer]) if v)

    def option(self, key: str, default: float) -> float:
        return dict(self.options).get(key, default)

    def with_options(self, **options: float) -> Architecture:
        merged = {**dict(self.options), **options}
        return dataclasses.replace(self, options=tuple(merged.items()))

    def without_options(self) -> Architecture:
        return dataclasses.replace(self, options=())

    def stem_kernel_in(self, space: ModelSpace) -> int:
        """The stem's kernel: this architecture's choice, else the space's only one."""
        return self.stem_kernel if self.stem_kernel is not None else space.stem_kernels[0]

    def head_in(self, space: ModelSpace) -> str:
        """The head's pooling: this architecture's choice, else the space's only one."""
        return self.head if self.head is not None else space.head_pools[0]

    def decision_indices(self, space: ModelSpace) -> tuple[int, ...]:
        """Indices of the searched whole-network choices (the controller's extra actions)."""
        self.validate(space)
        return tuple(options.index(getattr(self, name)) for name, options in space.decisions)

    def op_indices(self, space: ModelSpace) -> tuple[int, ...]:
        """Op indices in the space's op order (the controller's action ids)."""
        self.validate(space)
        return tuple(space.op_index(op) for op in self.ops)

    def validate(self, space: ModelSpace) -> Architecture:
        """Raise :class:`ArchitectureError` unless this architecture fits ``space``."""
        if self.model_space != space.name:
            raise ArchitectureError(
                f"architecture is for model space {self.model_space!r}, not {space.name!r} "
                f"({space.source})"
            )
        if self.num_layers != space.num_layers:
            raise ArchitectureError(
                f"architecture has {self.num_layers} layers; model space {space.name!r} "
                f"has {space.num_layers}"
            )
        names = set(space.op_names)
        for i, (op, skip) in enumerate(zip(self.ops, self.skips, strict=True)):
            if op not in names:
                raise ArchitectureError(
                    f"layer {i}: unknown op {op!r}; model space {space.name!r} has "
                    f"{list(space.op_names)}"
                )
            for j, v in enumerate(skip):
                if v and not space.skip_allowed(i, j):
                    why = (
                        "skips are disabled"
                        if not space.skips_enabled
                        else f"max_lookback is {space.max_lookback}"
                    )
                    raise ArchitectureError(
                        f"layer {i}: skip from layer {j} not allowed in model space "
                        f"{space.name!r} ({why})"
                    )
        searched = dict(space.decisions)
        for name, options in space.candidates:
            value = getattr(self, name)
            if name in searched and value is None:
                raise ArchitectureError(
                    f"model space {space.name!r} searches {name!r} ({list(options)}); "
                    "the architecture must choose one"
                )
            if value is not None and value not in options:
                raise ArchitectureError(
                    f"{name} {value!r} is not a candidate of model space {space.name!r}: "
                    f"{list(options)}"
                )
        return self

    # ------------------------------------------------------------------ JSON form

    def to_json(self) -> dict[str, Any]:
        """The JSON object (a dict; ``json.dumps`` it, or use :meth:`save`)."""
        out: dict[str, Any] = {
            "model_space": self.model_space,
            "layers": [
                {"op": op, "skips": list(s)} for op, s in zip(self.ops, self.skips, strict=True)
            ],
        }
        for name in WHOLE_NETWORK_PARTS:
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out.update(self.options)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str, source: str = "<json>") -> Architecture:
        """Parse the JSON object (a dict, or its text); errors name ``source``.

        Checks the form only; call :meth:`validate` to check it against a model space.
        """
        try:
            if isinstance(data, str):
                try:
                    data = json.loads(data)
                except json.JSONDecodeError as err:
                    raise ArchitectureError(f"invalid JSON: {err}") from None
            return _from_json(cls, data)
        except ArchitectureError as err:
            raise ArchitectureError(f"{source}: {err}") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON form atomically (never a half-written file under ``path``)."""
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Architecture:
        return cls.from_json(Path(path).read_text(), source=str(path))

    @classmethod
    def from_indices(
        cls,
        space: ModelSpace,
        op_indices: Sequence[int],
        skips: Sequence[Sequence[int]],
        decisions: Sequence[int] = (),
    ) -> Architecture:
        """Build a validated architecture from controller actions.

        ``op_indices[i]`` indexes ``space.op_names``; ``skips[i]`` has length ``i`` (0/1;
        bools, numpy or tensor ints are fine); ``decisions[d]`` indexes the candidates of
        ``space.decisions[d]``.
        """
        names = space.op_names
        ops = []
        for i, k in enumerate(op_indices):
            k = int(k)
            if not 0 <= k < len(names):
                raise ArchitectureError(f"layer {i}: op index {k} out of range 0..{len(names) - 1}")
            ops.append(names[k])
        if len(decisions) != len(space.decisions):
            raise ArchitectureError(
                f"{len(decisions)} whole-network choices for model space {space.name!r}, "
                f"which searches {[name for name, _ in space.decisions]}"
            )
        chosen = {}
        for (name, options), k in zip(space.decisions, decisions, strict=True):
            k = int(k)
            if not 0 <= k < len(options):
                raise ArchitectureError(f"{name} index {k} out of range 0..{len(options) - 1}")
            chosen[name] = options[k]
        skips_t = tuple(tuple(int(v) for v in s) for s in skips)
        return cls(space.name, tuple(ops), skips_t, **chosen).validate(space)


def from_indices(
    space: ModelSpace,
    op_indices: Sequence[int],
    skips: Sequence[Sequence[int]],
    decisions: Sequence[int] = (),
) -> Architecture:
    """Same as :meth:`Architecture.from_indices`."""
    return Architecture.from_indices(space, op_indices, skips, decisions)


def sample_uniform(
    space: ModelSpace, rng: np.random.Generator, skip_prob: float = 0.4
) -> Architecture:
    """The paper's AMBER-Base: ops uniform over the space, each allowed skip Bernoulli."""
    ops = rng.integers(space.num_ops, size=space.num_layers)
    skips = []
    for i in range(space.num_layers):
        draws = rng.random(i) < skip_prob  # drawn even if disallowed: fixed RNG consumption
        skips.append(tuple(int(d and space.skip_allowed(i, j)) for j, d in enumerate(draws)))
    # Drawn only for searched parts, so spaces without them keep their draws.
    decisions = [rng.integers(len(options)) for _, options in space.decisions]
    return from_indices(space, ops, skips, decisions)


def _from_json(cls: type[Architecture], data: Any) -> Architecture:
    if not isinstance(data, Mapping):
        raise ArchitectureError(f"expected a JSON object, got {type(data).__name__}")
    allowed = {"model_space", "layers", *WHOLE_NETWORK_PARTS, *OPTION_RANGES}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ArchitectureError(f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    for key in ("model_space", "layers"):
        if key not in data:
            raise ArchitectureError(f"missing key {key!r}")
    space_name = data["model_space"]
    if not isinstance(space_name, str):
        raise ArchitectureError(f"'model_space' must be a string, got {space_name!r}")
    layers = data["layers"]
    if not isinstance(layers, list):
        raise ArchitectureError(f"'layers' must be a list, got {type(layers).__name__}")
    ops, skips = [], []
    for i, layer in enumerate(layers):
        if not isinstance(layer, Mapping) or set(layer) != {"op", "skips"}:
            raise ArchitectureError(
                f"layers[{i}] must be an object with exactly 'op' and 'skips', got {layer!r}"
            )
        skip = layer["skips"]
        if not isinstance(skip, list) or any(
            isinstance(v, bool) or not isinstance(v, int) for v in skip
        ):
            raise ArchitectureError(f"layers[{i}].skips must be a list of 0/1, got {skip!r}")
        ops.append(layer["op"])
        skips.append(skip)
    options = tuple((k, data[k]) for k in OPTION_RANGES if k in data)
    stem_kernel, head = data.get("stem_kernel"), data.get("head")
    if stem_kernel is not None and (
        isinstance(stem_kernel, bool) or not isinstance(stem_kernel, int)
    ):
        raise ArchitectureError(f"'stem_kernel' must be an integer, got {stem_kernel!r}")
    if head is not None and not isinstance(head, str):
        raise ArchitectureError(f"'head' must be a string, got {head!r}")
    return cls(space_name, tuple(ops), tuple(tuple(s) for s in skips), options, stem_kernel, head)


def _check_options(options: Any) -> tuple[tuple[str, float], ...]:
    pairs = dict(options)
    for key, value in pairs.items():
        if key not in OPTION_RANGES:
            raise ArchitectureError(f"unknown option {key!r}; known: {sorted(OPTION_RANGES)}")
        in_range, expected = OPTION_RANGES[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not in_range(value):
            raise ArchitectureError(f"option {key!r} must be a number {expected}, got {value!r}")
    return tuple(sorted((k, float(v)) for k, v in pairs.items()))
