"""Supernet and child: shapes, supernet/child equivalence, sparse gradients, op semantics."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from amber.nas.arch import Architecture, sample_uniform
from amber.nas.child import (
    build_child,
    child_key_to_supernet_key,
    count_parameters,
    he_init_,
    load_child_from_supernet,
)
from amber.nas.ops import (
    ConvOp,
    Dropout,
    PoolOp,
    Reduction,
    output_layers,
    start_at_prior_,
    to_network_layout,
)
from amber.nas.space import load_space
from amber.nas.supernet import Supernet

SPACES = Path(__file__).resolve().parents[1] / "config" / "model_spaces"


@pytest.fixture(scope="module")
def demo():
    return load_space(SPACES / "demo.yaml")


@pytest.fixture(scope="module")
def paper():
    return load_space(SPACES / "amber_seq.yaml")


def _onehot(batch: int, length: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (batch, length), generator=g)
    return nn.functional.one_hot(idx, 4).transpose(1, 2).float()


def _arch(space, ops, skip_pairs) -> Architecture:
    """Architecture from op names and a set of (layer, source) skips."""
    skips = [[int((i, j) in skip_pairs) for j in range(i)] for i in range(space.num_layers)]
    return Architecture(space.name, tuple(ops), tuple(map(tuple, skips)))


def _train_steps(net: Supernet, space, archs, seq_len: int, steps: int) -> None:
    """A few SGD steps on random data so BN statistics and weights move off their init."""
    torch.manual_seed(0)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    net.train()
    for step in range(steps):
        x = _onehot(8, seq_len, seed=100 + step)
        y = (torch.rand(8, net.n_features) < 0.3).float()
        loss = nn.functional.binary_cross_entropy_with_logits(
            net.forward_logits(x, archs[step % len(archs)]), y
        )
        opt.zero_grad()
        loss.backward()
        opt.step()


def _cross_block_archs(space, rng, n):
    """Random archs, each forced to have a skip from layer 0 into the last layer."""
    out = []
    last = space.num_layers - 1
    for _ in range(n):
        a = sample_uniform(space, rng)
        skips = list(a.skips)
        skips[last] = (1,) + skips[last][1:]
        out.append(Architecture(a.model_space, a.ops, tuple(skips)))
    return out


# ----------------------------------------------------------------------------- equivalence


def test_supernet_equals_child_demo(demo):
    torch.manual_seed(1)
    seq_len, n_features = 200, 5
    net = Supernet(demo, seq_len, n_features)
    rng = np.random.default_rng(5)
    archs = _cross_block_archs(demo, rng, 6)
    # Every op at least once, with and without skips, including an all-identity layer run.
    archs.append(_arch(demo, demo.op_names[:6], {(5, 0), (5, 4), (3, 1)}))
    archs.append(_arch(demo, ("identity",) * 6, {(2, 1), (4, 0)}))
    archs.append(_arch(demo, demo.op_names[1:7], set()))
    _train_steps(net, demo, archs, seq_len, steps=12)
    net.eval()
    x = _onehot(4, seq_len, seed=9)
    for arch in archs:
        child = load_child_from_supernet(build_child(arch, demo, seq_len, n_features), net, arch)
        child.eval()
        with torch.no_grad():
            expected = net(x, arch)
            got = child(x)
        assert got.shape == (4, n_features)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_supernet_equals_child_paper_across_three_boundaries(paper):
    torch.manual_seed(2)
    seq_len, n_features = 256, 3  # 256 -> 64 -> 16 -> 4: cheap, same structure as 1000 bp
    net = Supernet(paper, seq_len, n_features)
    rng = np.random.default_rng(6)
    archs = _cross_block_archs(paper, rng, 3)  # layer 0 -> layer 11 crosses all 3 boundaries
    _train_steps(net, paper, archs, seq_len, steps=3)
    net.eval()
    x = _onehot(2, seq_len, seed=3)
    for arch in archs:
        child = load_child_from_supernet(build_child(arch, paper, seq_len, n_features), net, arch)
        child.eval()
        with torch.no_grad():
            torch.testing.assert_close(child(x), net(x, arch), rtol=0, atol=1e-5)


# ----------------------------------------------------------------------------- gradients


def test_only_sampled_ops_get_gradients(demo):
    torch.manual_seed(3)
    net = Supernet(demo, 200, 4)
    arch = _arch(demo, ("conv8", "maxpool4", "identity", "dilconv4", "avgpool4", "conv4"), {(5, 0)})
    loss = net.forward_logits(_onehot(4, 200, seed=1), arch).sum()
    loss.backward()
    for i, layer in enumerate(net.layers):
        for name, op in layer.ops.items():
            for pname, p in op.named_parameters():
                where = f"layers.{i}.ops.{name}.{pname}"
                if name == arch.ops[i]:
                    assert p.grad is not None and p.grad.abs().sum() > 0, where
                else:
                    assert p.grad is None, where
        assert all(p.grad is not None for p in layer.bn.parameters())
    for part in (net.stem, net.reductions, net.head):
        assert all(p.grad is not None for p in part.parameters())


def test_only_needed_outputs_are_reduced(demo):
    """Unchosen skips cost nothing: a boundary reduces the main path plus live skip sources."""
    net = Supernet(demo, 200, 4).eval()
    calls: list[tuple[int, ...]] = []
    net.reductions[0].register_forward_hook(lambda _m, _i, out: calls.append(tuple(out.shape)))
    x = _onehot(2, 200, seed=2)
    ops = ("conv8",) * 6
    with torch.no_grad():
        net(x, _arch(demo, ops, set()))
        assert len(calls) == 1  # main path only
        calls.clear()
        net(x, _arch(demo, ops, {(4, 0), (5, 0), (5, 1), (5, 2), (1, 0)}))
        assert len(calls) == 3  # main path (layer 2) + layers 0 and 1 (0 used twice)
    assert calls[0] == (2, demo.filters[1], 1, 50)  # (B, C, 1, L) inside the network


def test_chosen_skips_change_output(demo):
    torch.manual_seed(4)
    net = Supernet(demo, 200, 4).eval()
    x = _onehot(2, 200, seed=3)
    ops = ("conv8", "conv4", "maxpool4", "dilconv8", "avgpool4", "identity")
    with torch.no_grad():
        base = net(x, _arch(demo, ops, set()))
        for pair in [(5, 0), (5, 4), (3, 2), (1, 0)]:
            assert not torch.allclose(base, net(x, _arch(demo, ops, {pair}))), pair


# ----------------------------------------------------------------------------- shapes


def test_paper_space_shapes_and_outputs(paper):
    torch.manual_seed(5)
    net = Supernet(paper, 1000, 919).eval()
    arch = _cross_block_archs(paper, np.random.default_rng(7), 1)[0]
    shapes: dict[int, tuple[int, ...]] = {}
    for i, layer in enumerate(net.layers):
        layer.ops[arch.ops[i]].register_forward_hook(
            lambda _m, _i, out, i=i: shapes.__setitem__(i, out.shape)
        )
    with torch.no_grad():
        probs = net(_onehot(2, 1000, seed=4), arch)
    assert probs.shape == (2, 919)
    assert torch.all((probs > 0) & (probs < 1))
    lengths = [shapes[i][-1] for i in range(12)]
    channels = [shapes[i][1] for i in range(12)]
    assert lengths == [1000] * 3 + [250] * 3 + [63] * 3 + [16] * 3
    assert channels == [32] * 3 + [64] * 3 + [128] * 3 + [256] * 3
    assert net.head.fc1.in_features == 256 * 16


def test_forward_is_sigmoid_of_logits_and_checks_input(demo):
    net = Supernet(demo, 200, 4).eval()
    arch = sample_uniform(demo, np.random.default_rng(0))
    x = _onehot(2, 200, seed=5)
    with torch.no_grad():
        torch.testing.assert_close(net(x, arch), net.forward_logits(x, arch).sigmoid())
    with pytest.raises(ValueError, match=r"\(batch, 4, 200\)"):
        net(_onehot(2, 100, seed=5), arch)
    with pytest.raises(ValueError, match="too short"):
        Supernet(demo, 3, 4)


def test_child_api_keys_and_width(demo, paper):
    arch = sample_uniform(demo, np.random.default_rng(1))
    a, b = build_child(arch, demo, 200, 4), build_child(arch, demo, 200, 4)
    assert list(a.state_dict()) == list(b.state_dict())
    net = Supernet(demo, 200, 4)
    names = dict(net.named_parameters())
    for key, p in a.named_parameters():
        assert names[child_key_to_supernet_key(key, arch, demo)].shape == p.shape
    assert count_parameters(a) < count_parameters(net)
    wide = build_child(arch.with_options(width_multiplier=2.0, pool_dropout=0.1), demo, 200, 4)
    assert wide.width_multiplier == 2.0 and wide.pool_dropout == 0.1
    assert wide.stem.conv.out_channels == 2 * demo.filters[0]
    assert wide(_onehot(3, 200, seed=6)).shape == (3, 4)
    with pytest.raises(ValueError, match="width_multiplier=1.0"):
        load_child_from_supernet(wide, net, arch)
    other = sample_uniform(demo, np.random.default_rng(2))
    with pytest.raises(ValueError, match="different architecture"):
        load_child_from_supernet(a, net, other)
    # Width x2 paper-space child, 1000 bp, 919 features (the paper's searched model: 13.5M).
    big = build_child(
        sample_uniform(paper, np.random.default_rng(0)), paper, 1000, 919, width_multiplier=2.0
    )
    print(f"paper space, width x2, 1000 bp, 919 features: {count_parameters(big):,} params")


def test_pool_dropout_only_in_pool_ops(demo):
    arch = _arch(demo, ("maxpool4", "conv8", "avgpool4", "identity", "conv4", "maxpool4"), set())
    child = build_child(arch, demo, 200, 4, pool_dropout=0.5)
    drops = [n for n, m in child.named_modules() if isinstance(m, Dropout) and m.p == 0.5]
    assert drops == ["layers.0.op.dropout", "layers.2.op.dropout", "layers.5.op.dropout"]


def test_he_init_zeroes_biases():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv1d(8, 16, 5), nn.Linear(64, 32))
    he_init_(m)
    assert torch.all(m[0].bias == 0) and torch.all(m[1].bias == 0)
    std = m[1].weight.std().item()
    assert abs(std - (2 / 64) ** 0.5) < 0.03


# ----------------------------------------------------------------------------- op semantics


def test_conv_op_same_padding_matches_torch():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 50)
    for kernel, dilation in [(8, 1), (4, 1), (8, 10), (4, 10), (3, 2)]:
        op = ConvOp(6, kernel, dilation).eval()
        ref = nn.Conv1d(6, 6, kernel, padding="same", dilation=dilation, bias=False)
        ref.weight = op.conv.weight
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = torch.relu(op.bn(ref(x).unsqueeze(2))).squeeze(2)
        torch.testing.assert_close(op(to_network_layout(x)).squeeze(2), expected)


def test_pool_op_same_padding_like_keras():
    """Size 4, stride 1: output i pools inputs i-1..i+2 (Keras "same"), padding ignored."""
    op = PoolOp(1, "max", 4).eval()
    x = torch.tensor([[[5.0, 1.0, 2.0, 3.0, 4.0, 0.5]]])
    ref = x.numpy()[0, 0]
    expect_max = [max(ref[max(0, i - 1) : i + 3]) for i in range(6)]
    expect_avg = [ref[max(0, i - 1) : i + 3].mean() for i in range(6)]
    for kind, expect in (("max", expect_max), ("avg", expect_avg)):
        op = PoolOp(1, kind, 4).eval()
        op.conv = nn.Identity()  # isolate the pooling
        op.bn = nn.Identity()
        out = op(to_network_layout(x))[0, 0, 0].detach().numpy()
        np.testing.assert_allclose(out, expect, rtol=1e-6)
    odd = PoolOp(1, "avg", 3).eval()
    odd.conv, odd.bn = nn.Identity(), nn.Identity()
    expect3 = [ref[max(0, i - 1) : i + 2].mean() for i in range(6)]
    out3 = odd(to_network_layout(x))[0, 0, 0].detach().numpy()
    np.testing.assert_allclose(out3, expect3, rtol=1e-6)


def test_reduction_projects_then_pools():
    """Block boundary: the 1x1 conv to the next width, then max-pool 4/4 (ceil)."""
    torch.manual_seed(1)
    red = Reduction(3, 5, 4)
    x = torch.randn(2, 3, 10)
    projected = nn.functional.conv1d(x, red.conv.weight)
    expected = nn.functional.max_pool1d(projected, 4, 4, ceil_mode=True)  # 10 -> 3
    torch.testing.assert_close(red(to_network_layout(x)).squeeze(2), expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dropout_mask_rate_scale_and_seed(dtype):
    drop = Dropout(0.1).train()
    x = torch.ones(64, 8, 1, 500, dtype=dtype).contiguous(memory_format=torch.channels_last)
    torch.manual_seed(0)
    out = drop(x)
    assert out.dtype == dtype and out.is_contiguous(memory_format=torch.channels_last)
    values = set(out.float().unique().tolist())
    scale = torch.tensor(1 / 0.9, dtype=dtype).item()
    assert values == {0.0, scale}
    dropped = (out == 0).float().mean().item()
    assert abs(dropped - 0.1) < 0.005  # 256,000 draws: sd of the rate ~0.0006
    torch.manual_seed(0)
    assert torch.equal(drop(x), out)  # repeatable from torch's seed
    assert not torch.equal(drop(x), out)  # and fresh on the next call
    assert drop.eval()(x) is x
    assert Dropout(0.0).train()(x) is x
    # the gradient passes exactly where the value was kept, scaled the same way
    xg = torch.ones(4, 3, 1, 50, requires_grad=True)
    y = Dropout(0.5).train()(xg)
    y.sum().backward()
    torch.testing.assert_close(xg.grad, y.detach())


@pytest.mark.parametrize("pool", ["global_avg", "global_max"])
def test_global_pool_heads(demo, pool):
    space = dataclasses.replace(demo, head_pools=(pool,))
    torch.manual_seed(2)
    net = Supernet(space, 200, 4).eval()
    assert net.head.fc1.in_features == space.filters[-1]  # one value per channel
    arch = sample_uniform(space, np.random.default_rng(3))
    child = load_child_from_supernet(build_child(arch, space, 200, 4), net, arch).eval()
    x = _onehot(3, 200, seed=7)
    with torch.no_grad():
        torch.testing.assert_close(net(x, arch), child(x))
        length = space.block_lengths(200)[-1]
        h = torch.randn(3, space.filters[-1], 1, length)  # a last-block output (B, C, 1, L)
        z = h.mean(dim=(2, 3)) if pool == "global_avg" else h.amax(dim=(2, 3))
        fc1, fc2 = net.head.fc1, net.head.fc2
        torch.testing.assert_close(net.head(h), fc2(torch.relu(fc1(z))))


def test_searched_stem_and_head_share_weights_with_the_child(demo):
    """A space listing several stem kernels and heads: the supernet holds one of each per
    candidate, runs the architecture's choice, and its child computes the same."""
    space = dataclasses.replace(
        demo, stem_kernels=(8, 19), head_pools=("flatten", "global_max", "global_avg")
    )
    assert [name for name, _ in space.decisions] == ["stem_kernel", "head"]
    torch.manual_seed(4)
    net = Supernet(space, 200, 4).eval()
    assert sorted(net.stems) == ["k19", "k8"] and sorted(net.heads) == sorted(space.head_pools)
    x = _onehot(3, 200, seed=8)
    rng = np.random.default_rng(5)
    seen, outputs = set(), []
    for _ in range(12):
        arch = sample_uniform(space, rng)
        seen.add((arch.stem_kernel, arch.head))
        child = load_child_from_supernet(build_child(arch, space, 200, 4), net, arch).eval()
        assert child.stem.conv.kernel_size == (arch.stem_kernel,)
        assert child.head.pool == arch.head
        with torch.no_grad():
            torch.testing.assert_close(net(x, arch), child(x))
            outputs.append(net(x, arch))
    assert len(seen) >= 4  # the uniform sampler draws the searched parts too
    same_layers = [dataclasses.replace(arch, head=h) for h in space.head_pools]
    with torch.no_grad():
        heads_out = [net(x, a) for a in same_layers]
    assert not torch.allclose(heads_out[0], heads_out[1])  # the head choice is used


def test_bf16_backbone_gives_float32_logits_close_to_float32(demo):
    torch.manual_seed(6)
    net = Supernet(demo, 200, 4).eval()
    arch = sample_uniform(demo, np.random.default_rng(4))
    x = _onehot(16, 200, seed=8)
    with torch.no_grad():
        ref = net.forward_logits(x, arch)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = net.forward_logits(x, arch)
    assert low.dtype == torch.float32  # the head runs outside autocast
    assert len(set(low.flatten().tolist())) > 60  # no bf16 ties among 64 logits
    torch.testing.assert_close(low, ref, atol=0.05, rtol=0.05)


def test_keep_freed_memory_reuses_big_blocks():
    """The CLI's allocator setting: a freed 16 MiB block is reused without page faults
    (glibc's default maps it anew, then moves its threshold: twice the faults)."""
    code = (
        "import ctypes, resource, sys\n"
        "from amber.allocator import keep_freed_memory\n"
        "if sys.argv[1] == 'keep': assert keep_freed_memory()\n"
        "libc = ctypes.CDLL('libc.so.6'); libc.malloc.restype = ctypes.c_void_p\n"
        "start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(5):\n"
        "    p = libc.malloc(16 << 20); ctypes.memset(p, 1, 16 << 20)\n"
        "    libc.free(ctypes.c_void_p(p))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)\n"
    )
    faults = {
        mode: int(subprocess.run([sys.executable, "-c", code, mode], capture_output=True,
                                 text=True, check=True).stdout)
        for mode in ("default", "keep")
    }  # fmt: skip
    pages = (16 << 20) // 4096
    assert faults["keep"] < 1.5 * pages <= faults["default"], faults


def test_outputs_start_at_the_training_prior(demo):
    """Every head's output bias starts at the log-odds of its feature's positive rate (a
    rate of 0 clipped to 1e-4), so a fresh model predicts the base rate."""
    from amber.train.baselines import PlainCNN, load_baseline_spec

    rates = [0.05, 0.5, 0.0]
    expected = torch.tensor([0.05, 0.5, 1e-4])
    child = build_child(sample_uniform(demo, np.random.default_rng(0)), demo, 200, 3)
    searched = dataclasses.replace(demo, head_pools=("flatten", "global_max"))
    supernet = Supernet(searched, 200, 3)
    spec = load_baseline_spec(Path(__file__).parents[1] / "config/baselines/cnn3.json")
    baseline = PlainCNN(spec, 200, 3, width_multiplier=0.1)
    for model, n_heads in ((child, 1), (supernet, 2), (baseline, 1)):
        layers = output_layers(start_at_prior_(model, rates))
        assert len(layers) == n_heads
        for layer in layers:
            torch.testing.assert_close(layer.bias.sigmoid(), expected, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="rates"):
        start_at_prior_(child, [0.1, 0.2])
