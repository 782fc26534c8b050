"""Per-base attributions of a trained model: DeepLIFT/SHAP and in-silico mutagenesis,
both computed by tangermeme on the model's logits.

DeepLIFT/SHAP (:func:`deep_lift_shap`) explains one output (a logit) per call against
``n_shuffles`` dinucleotide-shuffled references per sequence and returns *hypothetical*
contributions ``(N, 4, L)`` (what each base would contribute at each position), which
is what TF-MoDISco takes; the actual contribution is that times the one-hot sequence.

tangermeme applies DeepLIFT's rules by hooks on ``torch.nn`` modules (``nn.ReLU``,
``nn.MaxPool1d``, ...). Our networks call ``F.relu`` and the pools as functions inside
their blocks (:mod:`amber.nas.ops`, :mod:`amber.train.baselines`), where no hook sees
them, and a function left alone is treated as linear (wrong multipliers, large
convergence deltas). So every block that holds such a function gets tangermeme's
``integrated_gradients_op`` through ``additional_nonlinear_ops``: the block's multiplier
is its Jacobian integrated from the reference's activation to the input's (Gauss-Legendre,
``IG_NODES`` nodes), which keeps DeepLIFT's summation-to-delta property block by block.
Blocks so treated: ``ConvOp``, ``PoolOp``, ``Reduction`` and ``Head`` of the NAS networks,
``ConvBlock`` of the baselines. A baseline's dense ReLU sits in ``PlainCNN.forward_logits``
itself; :class:`PlainLogits` runs the same computation with that ReLU as an ``nn.ReLU``
module (DeepLIFT's rescale rule, checked equal to ``forward_logits`` when built).

ISM (:func:`ism`) scores every single-base substitution with tangermeme's
``saturation_mutagenesis`` (fastISM where it pays); it needs no rules but costs 3L
forward passes per sequence, so the stage runs it on a few sequences only.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amber.nas.ops import ConvOp, Head, PoolOp, Reduction
from amber.train.baselines import ConvBlock, PlainCNN
from amber.train.model_io import ReverseComplementAverage

IG_NODES = 8  # quadrature nodes of the per-block integrated-gradients rule
BLOCK_TYPES: tuple[type[nn.Module], ...] = (ConvOp, PoolOp, Reduction, Head, ConvBlock)


class Logits(nn.Module):
    """A model's logits as its ``forward`` (attributions explain logits, not sigmoids)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model.forward_logits(x)


class PlainLogits(nn.Module):
    """``PlainCNN.forward_logits`` with its dense ReLU as an ``nn.ReLU`` module, so that
    DeepLIFT's rescale rule applies to it. Built by :func:`logit_model`, which checks it
    against ``forward_logits``."""

    def __init__(self, model: PlainCNN) -> None:
        super().__init__()
        self.model = model
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        m = self.model
        h = x.unsqueeze(2)
        for block in m.convs:
            h = block(h)
        if m.head_pool == "flatten":
            z = h.flatten(1)
        elif m.head_pool == "global_max":
            z = h.amax(dim=(2, 3))
        else:
            z = h.mean(dim=(2, 3))
        return m.fc2(m.hidden_dropout(self.relu(m.fc1(z))))


def logit_model(model: nn.Module) -> nn.Module:
    """The module whose ``forward`` gives ``model``'s logits, in eval mode.

    Raises ``TypeError`` for a model without ``forward_logits``.
    """
    if isinstance(model, PlainCNN):
        wrapped: nn.Module = PlainLogits(model)
        with torch.no_grad():
            x = F.one_hot(torch.randint(0, 4, (2, model.seq_len)), 4).float().transpose(1, 2)
            expected = model.eval().forward_logits(x)
            if not torch.allclose(wrapped.eval()(x), expected, rtol=1e-4, atol=1e-5):
                raise RuntimeError("PlainLogits no longer computes PlainCNN.forward_logits")
        return wrapped.eval()
    if isinstance(model, ReverseComplementAverage) and isinstance(model.model, PlainCNN):
        raise TypeError(
            "attributions of a reverse-complement-averaged baseline: load it with rc_average=False"
        )
    if not hasattr(model, "forward_logits"):
        raise TypeError(f"{type(model).__name__} has no forward_logits; cannot explain logits")
    return Logits(model).eval()


def nonlinear_ops(K: int = IG_NODES) -> dict[type[nn.Module], object]:
    """``additional_nonlinear_ops`` for tangermeme: the integrated-gradients rule for each
    block type that holds a functional nonlinearity (see the module docstring)."""
    from tangermeme.deep_lift_shap import integrated_gradients_op

    rule = integrated_gradients_op(K=K, name="amber_block")
    return dict.fromkeys(BLOCK_TYPES, rule)


def deep_lift_shap(
    model: nn.Module,
    x: Tensor,
    target: int,
    *,
    n_shuffles: int = 10,
    batch_size: int = 128,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> Tensor:
    """Hypothetical DeepLIFT/SHAP contributions ``(N, 4, L)`` float32 of logit ``target``.

    ``model`` is a loaded model (its logits are explained, see :func:`logit_model`), ``x``
    float one-hot ``(N, 4, L)`` A,C,G,T. References: ``n_shuffles`` dinucleotide shuffles
    of each sequence, seeded by ``seed``. Convergence-delta warnings of tangermeme are
    silenced (the per-block integrals are exact only to quadrature).
    """
    from tangermeme.deep_lift_shap import deep_lift_shap as tm_deep_lift_shap

    if x.ndim != 3 or x.shape[1] != 4:
        raise ValueError(f"expected one-hot sequences (N, 4, L), got shape {tuple(x.shape)}")
    if len(x) == 0:
        return torch.zeros(x.shape, dtype=torch.float32)
    net = logit_model(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = tm_deep_lift_shap(
            net,
            x.float(),
            target=int(target),
            batch_size=batch_size,
            n_shuffles=n_shuffles,
            hypothetical=True,
            additional_nonlinear_ops=nonlinear_ops(),
            device=torch.device(device),
            random_state=seed,
            only_warn=True,
        )
    return out.float()


def ism(
    model: nn.Module,
    x: Tensor,
    targets: list[int],
    *,
    batch_size: int = 128,
    device: str | torch.device = "cpu",
) -> Tensor:
    """In-silico mutagenesis ``(N, T, 4, L)`` float32 for the logits ``targets``: for each
    substitution the change of the logit, centred over the four bases at each position
    (tangermeme's convention; the observed base's value is minus the mean effect of
    mutating it)."""
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis

    net = logit_model(model)
    if len(x) == 0 or not targets:
        return torch.zeros((len(x), len(targets), *x.shape[1:]), dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = saturation_mutagenesis(
            net,
            x.float(),
            batch_size=batch_size,
            raw_outputs=True,
            device=torch.device(device),
        )
    ref, edits = raw  # (N, F), (N, 4, L, F)
    ref, edits = torch.as_tensor(ref), torch.as_tensor(edits)
    delta = edits[..., targets] - ref[:, None, None, targets]  # (N, 4, L, T)
    delta = delta - delta.mean(dim=1, keepdim=True)
    return delta.permute(0, 3, 1, 2).float().contiguous()
