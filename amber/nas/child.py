"""The standalone child network: only the chosen op per layer, for retraining and Selene.

``ChildNet(x)`` takes float (B, 4, seq_len) one-hot DNA and returns probabilities
(B, n_features), as Selene expects. Its parameter names are those of the supernet with
``ops.<op name>`` replaced by ``op`` (:func:`child_key_to_supernet_key`), and its
``state_dict`` keys and order depend only on the architecture and the build arguments.
"""

from __future__ import annotations

from torch import Tensor, nn

from amber.nas.arch import Architecture
from amber.nas.ops import (
    Dropout,
    Skeleton,
    build_fixed_parts,
    build_op,
    check_input,
    count_parameters,
    he_init_,
    make_plan,
    run_backbone,
)
from amber.nas.space import ModelSpace
from amber.nas.supernet import Supernet, stem_key

__all__ = [
    "ChildNet",
    "build_child",
    "child_key_to_supernet_key",
    "count_parameters",
    "he_init_",
    "load_child_from_supernet",
]


class ChildLayer(nn.Module):
    def __init__(self, op: nn.Module, channels: int) -> None:
        super().__init__()
        self.op = op
        self.bn = nn.BatchNorm2d(channels)


class ChildNet(nn.Module):
    def __init__(
        self,
        arch: Architecture,
        space: ModelSpace,
        seq_len: int,
        n_features: int,
        *,
        width_multiplier: float = 1.0,
        pool_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        arch.validate(space)
        self.arch = arch
        self.space = space
        self.seq_len = seq_len
        self.n_features = n_features
        self.width_multiplier = width_multiplier
        self.pool_dropout = pool_dropout
        skel = Skeleton.of(space, seq_len, width_multiplier)
        self.stem, self.reductions, self.head = build_fixed_parts(
            space, skel, n_features, arch.stem_kernel_in(space), arch.head_in(space)
        )
        layers = []
        for i, name in enumerate(arch.ops):
            ch = skel.channels[space.block_of(i)]
            layers.append(ChildLayer(build_op(space.op(name), ch, pool_dropout=pool_dropout), ch))
        self.layers = nn.ModuleList(layers)
        self.dropout = Dropout(space.layer_dropout)
        self._plan = make_plan(arch, space)

    def forward_logits(self, x: Tensor) -> Tensor:
        check_input(x, self.seq_len)
        ops = [layer.op for layer in self.layers]
        bns = [layer.bn for layer in self.layers]
        h = run_backbone(x, self.stem, ops, bns, self.reductions, self.dropout, self._plan)
        return self.head(h)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_logits(x).sigmoid()

    def extra_repr(self) -> str:
        return (
            f"space={self.space.name!r}, ops={list(self.arch.ops)}, "
            f"stem_kernel={self.arch.stem_kernel_in(self.space)}, "
            f"head={self.arch.head_in(self.space)!r}, "
            f"skips={self.arch.num_skips}, seq_len={self.seq_len}, "
            f"n_features={self.n_features}, width_multiplier={self.width_multiplier}, "
            f"pool_dropout={self.pool_dropout}"
        )


def build_child(
    arch: Architecture,
    space: ModelSpace,
    seq_len: int,
    n_features: int,
    *,
    width_multiplier: float | None = None,
    pool_dropout: float | None = None,
) -> ChildNet:
    """Build the child for ``arch``; PyTorch default init (call :func:`he_init_` if wanted).

    ``width_multiplier`` / ``pool_dropout`` left as None take the architecture's optional
    JSON keys of the same name, else 1.0 / 0.0.
    """
    if width_multiplier is None:
        width_multiplier = arch.option("width_multiplier", 1.0)
    if pool_dropout is None:
        pool_dropout = arch.option("pool_dropout", 0.0)
    return ChildNet(
        arch,
        space,
        seq_len,
        n_features,
        width_multiplier=width_multiplier,
        pool_dropout=pool_dropout,
    )


def child_key_to_supernet_key(key: str, arch: Architecture, space: ModelSpace) -> str:
    """``layers.3.op.conv.weight`` -> ``layers.3.ops.<arch.ops[3]>.conv.weight``; a
    searched stem or head: ``stem.conv.weight`` -> ``stems.k19.conv.weight``,
    ``head.fc1.weight`` -> ``heads.global_max.fc1.weight``."""
    parts = key.split(".")
    if len(parts) > 2 and parts[0] == "layers" and parts[2] == "op":
        parts[2:3] = ["ops", arch.ops[int(parts[1])]]
    elif parts[0] == "stem" and len(space.stem_kernels) > 1:
        parts[0:1] = ["stems", stem_key(arch.stem_kernel_in(space))]
    elif parts[0] == "head" and len(space.head_pools) > 1:
        parts[0:1] = ["heads", arch.head_in(space)]
    return ".".join(parts)


def load_child_from_supernet(child: ChildNet, supernet: Supernet, arch: Architecture) -> ChildNet:
    """Copy the supernet's weights and BN statistics for ``arch`` into ``child`` (in place)."""
    if child.arch.without_options() != arch.without_options():
        raise ValueError("child was built for a different architecture")
    if child.width_multiplier != 1.0:
        raise ValueError("weights can be shared only with width_multiplier=1.0")
    if (child.space, child.seq_len, child.n_features) != (
        supernet.space,
        supernet.seq_len,
        supernet.n_features,
    ):
        raise ValueError("child and supernet differ in model space, seq_len or n_features")
    source = supernet.state_dict()
    mapped = {
        key: source[child_key_to_supernet_key(key, arch, child.space)] for key in child.state_dict()
    }
    child.load_state_dict(mapped, strict=True)
    return child
