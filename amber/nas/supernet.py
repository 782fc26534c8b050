"""The weight-sharing supernet: every candidate op per layer, one architecture per forward.

A forward runs only the sampled op of each layer and only the chosen skips (as the
original AMBER's PyTorch supernet does), so only those parameters receive gradients.
Parameter names (``layers.3.ops.conv8.conv.weight``) map onto the child's
(``layers.3.op.conv.weight``); see :mod:`amber.nas.child`. A space that searches the
stem kernel or the head holds one of each per candidate (``stems.k19``,
``heads.global_max``); otherwise they are ``stem`` and ``head`` as in the child.
"""

from __future__ import annotations

from torch import Tensor, nn

from amber.nas.arch import Architecture
from amber.nas.ops import (
    Dropout,
    Skeleton,
    Stem,
    build_head,
    build_op,
    build_reductions,
    check_input,
    make_plan,
    run_backbone,
)
from amber.nas.space import ModelSpace


def stem_key(kernel: int) -> str:
    """The supernet's name for the stem of one candidate kernel (``k19``)."""
    return f"k{kernel}"


class SuperLayer(nn.Module):
    """All candidate ops of one layer plus the layer's BatchNorm (after the skip sum)."""

    def __init__(self, space: ModelSpace, channels: int) -> None:
        super().__init__()
        self.ops = nn.ModuleDict({spec.name: build_op(spec, channels) for spec in space.ops})
        self.bn = nn.BatchNorm2d(channels)


class Supernet(nn.Module):
    """``forward(x, arch)``: x float (B, 4, seq_len) -> probabilities (B, n_features).

    PyTorch default initialisation is kept. Train with ``forward_logits`` and
    ``BCEWithLogitsLoss``; call ``optimizer.zero_grad(set_to_none=True)`` (the default)
    so that Adam skips the ops that were not sampled instead of applying stale momentum.
    """

    def __init__(self, space: ModelSpace, seq_len: int, n_features: int) -> None:
        super().__init__()
        self.space = space
        self.seq_len = seq_len
        self.n_features = n_features
        skel = Skeleton.of(space, seq_len, 1.0)
        stems = {stem_key(k): Stem(skel.channels[0], k) for k in space.stem_kernels}
        heads = {p: build_head(space, skel, n_features, p) for p in space.head_pools}
        if len(stems) == 1:
            self.stem = next(iter(stems.values()))
        else:
            self.stems = nn.ModuleDict(stems)
        self.reductions = build_reductions(space, skel)
        if len(heads) == 1:
            self.head = next(iter(heads.values()))
        else:
            self.heads = nn.ModuleDict(heads)
        self.layers = nn.ModuleList(
            SuperLayer(space, skel.channels[space.block_of(i)]) for i in range(space.num_layers)
        )
        self.dropout = Dropout(space.layer_dropout)

    def forward_logits(self, x: Tensor, arch: Architecture) -> Tensor:
        check_input(x, self.seq_len)
        arch.validate(self.space)
        ops = [layer.ops[name] for layer, name in zip(self.layers, arch.ops, strict=True)]
        bns = [layer.bn for layer in self.layers]
        plan = make_plan(arch, self.space)
        stem = (
            self.stems[stem_key(arch.stem_kernel_in(self.space))] if self._many_stems else self.stem
        )
        head = self.heads[arch.head_in(self.space)] if self._many_heads else self.head
        h = run_backbone(x, stem, ops, bns, self.reductions, self.dropout, plan)
        return head(h)

    @property
    def _many_stems(self) -> bool:
        return len(self.space.stem_kernels) > 1

    @property
    def _many_heads(self) -> bool:
        return len(self.space.head_pools) > 1

    def forward(self, x: Tensor, arch: Architecture) -> Tensor:
        return self.forward_logits(x, arch).sigmoid()

    def extra_repr(self) -> str:
        return f"space={self.space.name!r}, seq_len={self.seq_len}, n_features={self.n_features}"
