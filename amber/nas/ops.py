"""Building blocks shared by the supernet and the standalone child.

Both networks are made from the SAME factories here and run the SAME forward routine
(:func:`run_backbone`), so a child loaded from the supernet computes exactly what the
supernet computes for that architecture; they differ only in which op modules they hold.

Layer ``i``: ``y = op_i(h)``; ``y += out_j`` for each chosen skip ``j``; ``out_i =
dropout(bn_i(y))``. After the last layer of a block, one :class:`Reduction` per boundary
(1x1 conv to the next block's width + max-pool, ceil) maps the main path and every stored
output that a later layer still adds, so skips across blocks match in shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amber.nas.arch import Architecture
from amber.nas.space import ModelSpace, OpSpec

N_BASES = 4  # one-hot DNA input channels


# --------------------------------------------------------------------------- candidate ops


class SameConv1d(nn.Conv1d):
    """Stride-1 Conv1d with "same" output length, as Keras and ``padding="same"``.

    ``total // 2`` zeros left, the rest right. An odd total (even kernel, odd dilation)
    is padded explicitly: what ``padding="same"`` does internally too, minus its warning.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, dilation: int = 1) -> None:
        total = dilation * (kernel - 1)
        left = total // 2
        asymmetric = total % 2 == 1
        super().__init__(
            in_channels,
            out_channels,
            kernel,
            padding=0 if asymmetric else left,
            dilation=dilation,
            bias=False,  # BatchNorm always follows
        )
        self.same_pad = (left, total - left) if asymmetric else None

    def forward(self, x: Tensor) -> Tensor:
        if self.same_pad is not None:
            x = F.pad(x, self.same_pad)
        return super().forward(x)


class ConvOp(nn.Module):
    """Conv1d ("same" length) -> BatchNorm -> ReLU."""

    def __init__(self, channels: int, kernel: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv = SameConv1d(channels, channels, kernel, dilation)
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class PoolOp(nn.Module):
    """1x1 conv -> BN -> ReLU -> pool (stride 1, "same" length) -> optional dropout.

    "Same" padding as in Keras (the original AMBER): pad ``(size-1)//2`` left and the
    rest right, padded positions ignored (max: -inf, avg: excluded from the count).
    PyTorch pools pad symmetrically, so pad by the larger side and trim the surplus.
    """

    def __init__(self, channels: int, kind: str, size: int, dropout: float = 0.0) -> None:
        super().__init__()
        if kind not in ("max", "avg"):
            raise ValueError(f"pool kind must be 'max' or 'avg', got {kind!r}")
        self.conv = nn.Conv1d(channels, channels, 1, bias=False)
        self.bn = nn.BatchNorm1d(channels)
        self.kind = kind
        self.size = size
        left = (size - 1) // 2
        self.pad = size - 1 - left
        self.trim = self.pad - left
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.bn(self.conv(x)))
        if self.kind == "max":
            h = F.max_pool1d(h, self.size, 1, self.pad)
        else:
            h = F.avg_pool1d(h, self.size, 1, self.pad, count_include_pad=False)
        if self.trim:
            h = h[..., self.trim :]
        return self.dropout(h)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, size={self.size}"


OpBuilder = Callable[[OpSpec, int, float], nn.Module]

# Op type (see amber.nas.space.OP_TYPES) -> builder(spec, channels, pool_dropout).
OP_BUILDERS: Mapping[str, OpBuilder] = MappingProxyType(
    {
        "conv": lambda spec, ch, _pd: ConvOp(ch, spec.kernel, spec.dilation),
        "maxpool": lambda spec, ch, pd: PoolOp(ch, "max", spec.size, pd),
        "avgpool": lambda spec, ch, pd: PoolOp(ch, "avg", spec.size, pd),
        "identity": lambda _spec, _ch, _pd: nn.Identity(),
    }
)


def build_op(spec: OpSpec, channels: int, *, pool_dropout: float = 0.0) -> nn.Module:
    """The one op factory used by both the supernet and the child."""
    try:
        builder = OP_BUILDERS[spec.type]
    except KeyError:
        raise ValueError(f"no builder for op type {spec.type!r} (op {spec.name!r})") from None
    return builder(spec, channels, pool_dropout)


# --------------------------------------------------------------------------- fixed parts


class Stem(nn.Module):
    """Conv (4 -> filters[0], "same") -> BatchNorm."""

    def __init__(self, out_channels: int, kernel: int) -> None:
        super().__init__()
        self.conv = SameConv1d(N_BASES, out_channels, kernel)
        self.bn = nn.BatchNorm1d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x))


class Reduction(nn.Module):
    """Block boundary: 1x1 conv to the next width, then max-pool ``pool``/``pool`` (ceil)."""

    def __init__(self, in_channels: int, out_channels: int, pool: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, 1, bias=False)
        self.pool = pool

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool1d(self.conv(x), self.pool, self.pool, ceil_mode=True)


class Head(nn.Module):
    """Flatten -> dropout -> dense + ReLU -> dense (logits; sigmoid is applied outside)."""

    def __init__(self, in_features: int, hidden: int, n_features: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, n_features)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.relu(self.fc1(self.dropout(x.flatten(1)))))


@dataclass(frozen=True)
class Skeleton:
    """Channel and length bookkeeping for one (space, seq_len, width) combination."""

    channels: tuple[int, ...]  # per block
    lengths: tuple[int, ...]  # per block

    @classmethod
    def of(cls, space: ModelSpace, seq_len: int, width_multiplier: float) -> Skeleton:
        if width_multiplier <= 0:
            raise ValueError(f"width_multiplier must be > 0, got {width_multiplier}")
        lengths = space.block_lengths(seq_len)
        if seq_len < 1 or any(n < space.reduction_pool for n in lengths[:-1]):
            raise ValueError(
                f"seq_len {seq_len} too short for {space.num_blocks - 1} reductions by "
                f"{space.reduction_pool} (block lengths {lengths})"
            )
        chans = tuple(space.channels(b, width_multiplier) for b in range(space.num_blocks))
        return cls(chans, lengths)

    @property
    def flat_features(self) -> int:
        return self.channels[-1] * self.lengths[-1]


def build_fixed_parts(
    space: ModelSpace, skel: Skeleton, n_features: int
) -> tuple[Stem, nn.ModuleList, Head]:
    """Stem, one reduction per block boundary, head: identical in supernet and child."""
    stem = Stem(skel.channels[0], space.stem_kernel)
    reductions = nn.ModuleList(
        Reduction(skel.channels[b], skel.channels[b + 1], space.reduction_pool)
        for b in range(space.num_blocks - 1)
    )
    head = Head(skel.flat_features, space.head_hidden, n_features, space.head_dropout)
    return stem, reductions, head


# --------------------------------------------------------------------------- forward


@dataclass(frozen=True)
class ForwardPlan:
    """What :func:`run_backbone` does per layer, precomputed from an architecture.

    ``sources[i]``: earlier layers added into layer ``i``. ``carry[i]``: empty unless a
    block boundary follows layer ``i``; then the stored outputs to pass through that
    boundary's reduction: layer ``i`` itself (the main path) plus every earlier output
    a later layer still adds. Outputs nobody needs later are never reduced.
    """

    sources: tuple[tuple[int, ...], ...]
    carry: tuple[tuple[int, ...], ...]
    boundary: tuple[int, ...]  # reduction index after layer i, or -1


def make_plan(arch: Architecture, space: ModelSpace) -> ForwardPlan:
    n = arch.num_layers
    sources = tuple(arch.skip_sources(i) for i in range(n))
    carry, boundary = [], []
    for i in range(n):
        if space.is_block_end(i):
            later = {j for k in range(i + 1, n) for j in sources[k] if j < i}
            carry.append(tuple(sorted(later | {i})))
            boundary.append(space.block_of(i))
        else:
            carry.append(())
            boundary.append(-1)
    return ForwardPlan(sources, tuple(carry), tuple(boundary))


def run_backbone(
    x: Tensor,
    stem: nn.Module,
    ops: Sequence[nn.Module],
    bns: Sequence[nn.Module],
    reductions: Sequence[nn.Module],
    dropout: nn.Module,
    plan: ForwardPlan,
) -> Tensor:
    """Stem and all layers; returns the last layer's output (B, C_last, L_last)."""
    h = stem(x)
    outs: list[Tensor | None] = [None] * len(ops)
    for i, op in enumerate(ops):
        y = op(h)
        for j in plan.sources[i]:
            y = y + outs[j]  # not in place: y may alias h (identity op)
        h = dropout(bns[i](y))
        outs[i] = h
        if plan.carry[i]:
            reduce = reductions[plan.boundary[i]]
            carried: list[Tensor | None] = [None] * len(ops)
            for j in plan.carry[i]:
                carried[j] = reduce(outs[j])
            outs = carried
            h = outs[i]
    return h


# --------------------------------------------------------------------------- utilities


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@torch.no_grad()
def he_init_(module: nn.Module) -> nn.Module:
    """Kaiming-normal conv/linear weights and zero biases, in place (for final models)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def check_input(x: Tensor, seq_len: int) -> None:
    if x.dim() != 3 or x.shape[1] != N_BASES or x.shape[2] != seq_len:
        raise ValueError(
            f"expected input of shape (batch, {N_BASES}, {seq_len}), got {tuple(x.shape)}"
        )
