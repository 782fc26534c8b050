"""The model space as data: load a YAML file, validate it, answer shape questions.

A model space fixes everything an architecture does *not* choose: layer count, block
layout, filters per block, the candidate ops (their order is the op index the
controller uses), the residual-skip policy, dropout and the dense head. An
:class:`~amber.nas.arch.Architecture` then picks one op and a skip set per layer.

Two whole-network parts may also be searched: ``stem.kernel`` and ``head.pool`` each take
one value (fixed, as in the paper) or a list of candidates, and then the architecture
picks one (:attr:`ModelSpace.decisions`). A global-pooling head and a wider stem kernel
are what small single-factor datasets need; the paper's flatten head is data-hungry.

Adding an op *type* means one entry in :data:`OP_TYPES` (its parameters) and one
builder in :mod:`amber.nas.ops`; adding an op of an existing type (say a conv with
kernel 16) is a YAML edit only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

# Op type -> {parameter: default}; a default of None marks the parameter as required.
OP_TYPES: Mapping[str, Mapping[str, int | None]] = MappingProxyType(
    {
        "conv": {"kernel": None, "dilation": 1},
        "maxpool": {"size": None},
        "avgpool": {"size": None},
        "identity": {},
    }
)

# How the head turns the last block's (channels x length) output into one vector.
HEAD_POOLS = ("flatten", "global_avg", "global_max")

# Whole-network parts a space may search, by the name an architecture gives its choice.
WHOLE_NETWORK_PARTS = ("stem_kernel", "head")

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOP_KEYS = {
    "name": True,
    "num_layers": True,
    "layers_per_block": True,
    "filters": True,
    "reduction_pool": True,
    "stem": True,
    "ops": True,
    "skips": False,
    "layer_dropout": True,
    "head": True,
}


class ModelSpaceError(ValueError):
    """A problem in a model-space file; the message names the file and the key."""


@dataclass(frozen=True)
class OpSpec:
    """One candidate op. Parameters a type does not use keep their default of 1."""

    name: str
    type: str
    kernel: int = 1
    dilation: int = 1
    size: int = 1


@dataclass(frozen=True)
class ModelSpace:
    name: str
    num_layers: int
    layers_per_block: int
    filters: tuple[int, ...]
    reduction_pool: int
    stem_kernels: tuple[int, ...]
    ops: tuple[OpSpec, ...]
    skips_enabled: bool
    max_lookback: int | None
    layer_dropout: float
    head_hidden: int
    head_dropout: float
    head_pools: tuple[str, ...] = ("flatten",)
    source: str = field(default="<dict>", compare=False)

    @property
    def candidates(self) -> tuple[tuple[str, tuple[int, ...] | tuple[str, ...]], ...]:
        """``(part, its candidates)`` for each of :data:`WHOLE_NETWORK_PARTS`."""
        return tuple(zip(WHOLE_NETWORK_PARTS, (self.stem_kernels, self.head_pools), strict=True))

    @property
    def decisions(self) -> tuple[tuple[str, tuple[int, ...] | tuple[str, ...]], ...]:
        """The searched whole-network choices, in the controller's order after the
        layers: ``("stem_kernel", kernels)`` and/or ``("head", pools)``, each only when
        the space lists more than one candidate."""
        return tuple((name, options) for name, options in self.candidates if len(options) > 1)

    @property
    def op_names(self) -> tuple[str, ...]:
        return tuple(op.name for op in self.ops)

    @property
    def num_ops(self) -> int:
        return len(self.ops)

    @property
    def num_blocks(self) -> int:
        return len(self.filters)

    def op(self, name: str) -> OpSpec:
        for spec in self.ops:
            if spec.name == name:
                return spec
        raise KeyError(f"model space {self.name!r} has no op {name!r}; ops: {self.op_names}")

    def op_index(self, name: str) -> int:
        return self.op_names.index(name)

    def block_of(self, layer: int) -> int:
        if not 0 <= layer < self.num_layers:
            raise IndexError(f"layer {layer} out of range 0..{self.num_layers - 1}")
        return layer // self.layers_per_block

    def is_block_end(self, layer: int) -> bool:
        """True if a reduction (block boundary) follows ``layer``; never for the last layer."""
        return layer % self.layers_per_block == self.layers_per_block - 1 and (
            layer < self.num_layers - 1
        )

    def skip_allowed(self, layer: int, source: int) -> bool:
        """May layer ``layer`` add the output of earlier layer ``source``?"""
        if not self.skips_enabled or not 0 <= source < layer:
            return False
        return self.max_lookback is None or layer - source <= self.max_lookback

    def channels(self, block: int, width_multiplier: float = 1.0) -> int:
        return max(1, int(round(self.filters[block] * width_multiplier)))

    def block_lengths(self, seq_len: int) -> tuple[int, ...]:
        """Sequence length inside each block (ceil division at each reduction)."""
        lengths = [seq_len]
        for _ in range(self.num_blocks - 1):
            lengths.append(math.ceil(lengths[-1] / self.reduction_pool))
        return tuple(lengths)


# --------------------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def load_space(path: str | Path) -> ModelSpace:
    """Read and validate a model-space YAML file; raise :class:`ModelSpaceError` if bad."""
    path = Path(path)
    try:
        with open(path) as handle:
            data = yaml.load(handle, Loader=_UniqueKeyLoader)  # noqa: S506 - safe subclass
    except OSError as err:
        raise ModelSpaceError(f"{path}: cannot read model space: {err}") from err
    except yaml.YAMLError as err:
        raise ModelSpaceError(f"{path}: invalid YAML: {err}") from err
    return parse_space(data, source=str(path))


def parse_space(data: Any, source: str = "<dict>") -> ModelSpace:
    """Validate an already-parsed model-space mapping (``source`` is used in messages)."""
    err = _Errors(source)
    if not isinstance(data, Mapping):
        raise err("", f"expected a mapping at the top level, got {type(data).__name__}")
    _check_keys(err, "", data, _TOP_KEYS)

    name = data["name"]
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise err("name", f"must be an identifier-like string, got {name!r}")
    num_layers = _pos_int(err, "num_layers", data["num_layers"])
    per_block = _pos_int(err, "layers_per_block", data["layers_per_block"])
    filters = data["filters"]
    if not isinstance(filters, list) or not filters:
        raise err("filters", f"must be a non-empty list (one entry per block), got {filters!r}")
    filters_t = tuple(_pos_int(err, f"filters[{i}]", f) for i, f in enumerate(filters))
    if num_layers != per_block * len(filters_t):
        raise err(
            "filters",
            f"has {len(filters_t)} entries but num_layers / layers_per_block = "
            f"{num_layers} / {per_block} needs one per block "
            f"({num_layers / per_block:g} blocks)",
        )
    reduction_pool = _pos_int(err, "reduction_pool", data["reduction_pool"])

    stem = _mapping(err, "stem", data["stem"])
    _check_keys(err, "stem", stem, {"kernel": True})
    stem_kernels = tuple(
        _pos_int(err, key, k) for key, k in _candidates(err, "stem.kernel", stem["kernel"])
    )

    ops = _parse_ops(err, data["ops"])

    skips = _mapping(err, "skips", data.get("skips", {}))
    _check_keys(err, "skips", skips, {"enabled": False, "max_lookback": False})
    enabled = skips.get("enabled", True)
    if not isinstance(enabled, bool):
        raise err("skips.enabled", f"must be true or false, got {enabled!r}")
    lookback = skips.get("max_lookback")
    if lookback is not None:
        lookback = _pos_int(err, "skips.max_lookback", lookback)

    head = _mapping(err, "head", data["head"])
    _check_keys(err, "head", head, {"hidden": True, "dropout": True, "pool": False})
    head_pools = []
    for key, pool in _candidates(err, "head.pool", head.get("pool", "flatten")):
        if pool not in HEAD_POOLS:
            raise err(key, f"must be one of {list(HEAD_POOLS)}, got {pool!r}")
        head_pools.append(pool)

    return ModelSpace(
        name=name,
        num_layers=num_layers,
        layers_per_block=per_block,
        filters=filters_t,
        reduction_pool=reduction_pool,
        stem_kernels=stem_kernels,
        ops=ops,
        skips_enabled=enabled,
        max_lookback=lookback,
        layer_dropout=_prob(err, "layer_dropout", data["layer_dropout"]),
        head_hidden=_pos_int(err, "head.hidden", head["hidden"]),
        head_dropout=_prob(err, "head.dropout", head["dropout"]),
        head_pools=tuple(head_pools),
        source=source,
    )


def _parse_ops(err: _Errors, raw: Any) -> tuple[OpSpec, ...]:
    ops = _mapping(err, "ops", raw)
    if not ops:
        raise err("ops", "must name at least one op")
    specs = []
    for name, body in ops.items():
        key = f"ops.{name}"
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise err(key, "op names must be identifier-like (letters, digits, underscore)")
        body = _mapping(err, key, body)
        op_type = body.get("type")
        if op_type not in OP_TYPES:
            raise err(f"{key}.type", f"unknown op type {op_type!r}; known: {sorted(OP_TYPES)}")
        params = OP_TYPES[op_type]
        _check_keys(err, key, body, {"type": True, **{p: d is None for p, d in params.items()}})
        values = {p: _pos_int(err, f"{key}.{p}", body.get(p, d)) for p, d in params.items()}
        specs.append(OpSpec(name=name, type=op_type, **values))
    return tuple(specs)


class _Errors:
    """Builds :class:`ModelSpaceError` messages of the form ``file: key 'a.b': problem``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __call__(self, key: str, problem: str) -> ModelSpaceError:
        where = f"key {key!r}: " if key else ""
        return ModelSpaceError(f"{self.source}: {where}{problem}")


def _check_keys(err: _Errors, where: str, data: Mapping, allowed: Mapping[str, bool]) -> None:
    """``allowed`` maps each known key to whether it is required."""
    prefix = f"{where}." if where else ""
    for key in data:
        if key not in allowed:
            raise err(f"{prefix}{key}", f"unknown key; allowed here: {sorted(allowed)}")
    for key, required in allowed.items():
        if required and key not in data:
            raise err(f"{prefix}{key}", "required key is missing")


def _candidates(err: _Errors, key: str, value: Any) -> list[tuple[str, Any]]:
    """A fixed value or a non-empty list of distinct candidates, as (key, value) pairs."""
    if not isinstance(value, list):
        return [(key, value)]
    if not value:
        raise err(key, "an empty list of candidates; give one value or several")
    if len(set(map(repr, value))) != len(value):
        raise err(key, f"lists a candidate twice: {value!r}")
    return [(f"{key}[{i}]", v) for i, v in enumerate(value)]


def _mapping(err: _Errors, key: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise err(key, f"must be a mapping, got {value!r}")
    return value


def _pos_int(err: _Errors, key: str, value: Any) -> int:
    # bool is an int subclass in Python; `kernel: true` is a typo, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise err(key, f"must be a positive integer, got {value!r}")
    return value


def _prob(err: _Errors, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise err(key, f"must be a number in [0, 1), got {value!r}")
    return float(value)
