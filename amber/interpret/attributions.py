"""Per-base attributions of a trained model: DeepLIFT/SHAP and in-silico mutagenesis,
both computed by tangermeme on the model's logits.

DeepLIFT/SHAP (:func:`deep_lift_shap`) explains one output (a logit) per call against
``n_shuffles`` dinucleotide-shuffled references per sequence and returns *hypothetical*
contributions ``(N, 4, L)`` (what each base would contribute at each position), which
is what TF-MoDISco takes; the actual contribution is that times the one-hot sequence.

tangermeme applies DeepLIFT's rules by hooks on ``torch.nn`` modules (the rescale rule on
``nn.ReLU``, Captum's max-pool rule on ``nn.MaxPool2d``) and treats anything else as
linear. Every nonlinearity of our networks is such a module (:mod:`amber.nas.ops`,
:mod:`amber.train.baselines`; a head's global max is an ``nn.MaxPool2d`` over the whole
length), so DeepLIFT/SHAP runs with tangermeme's own rules and its attributions sum to
the logit difference from each reference (tested on every kind of network). Until the
ReLUs and pools were modules, every block needed tangermeme's integrated-gradients rule:
several times slower, and inexact for a global max.

ISM (:func:`ism`) scores every single-base substitution with tangermeme's
``saturation_mutagenesis`` (fastISM where it pays); it needs no rules but costs 3L
forward passes per sequence, so the stage runs it on a few sequences only.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from amber.train.model_io import ReverseComplementAverage


class Logits(nn.Module):
    """A model's logits as its ``forward`` (attributions explain logits, not sigmoids)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model.forward_logits(x)


def logit_model(model: nn.Module) -> nn.Module:
    """The module whose ``forward`` gives ``model``'s logits, in eval mode.

    Raises ``TypeError`` for a model without ``forward_logits``, and for a
    reverse-complement average: it runs every module twice per forward, while DeepLIFT's
    hooks keep one input per module.
    """
    if isinstance(model, ReverseComplementAverage):
        raise TypeError(
            "attributions of a reverse-complement-averaged model: load it with "
            "rc_average=False (attributions then explain the forward strand)"
        )
    if not hasattr(model, "forward_logits"):
        raise TypeError(f"{type(model).__name__} has no forward_logits; cannot explain logits")
    return Logits(model).eval()


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
    of each sequence, seeded by ``seed``. tangermeme's convergence-delta warnings are
    silenced: its absolute threshold (1e-3) flags float32 rounding on large models.
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
