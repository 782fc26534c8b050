"""ENAS-style controller RNN that samples architectures, and its REINFORCE trainer.

The controller follows AMBER's ``GeneralController`` (the "Amber-Seq" template), itself a
modified ENAS controller:

* one LSTM layer (``hidden`` units); the first input is a learned start embedding;
* per layer ``i`` (0-based) one LSTM step emits the op logits; the chosen op's embedding
  (shared by all layers) is the next input. For ``i > 0`` a second LSTM step on that
  embedding gives the query for the ``i`` skip decisions over layers ``0..i-1``:
  ``q_ij = v^T tanh(W1 h_j + W2 h_i) + b``, where ``h_j`` is layer ``j``'s anchor (its
  last hidden state). ``b`` is a learned scalar that AMBER does not have; it starts at 0
  (so the initial policy is AMBER's) and lets one set the initial skip density;
* logits are squashed as ``c * tanh(logits / T)`` (temperature first, then tanh clipping,
  as in ENAS/AMBER ``_squeeze_logits``). Skip decisions are two-way softmaxes over
  ``[-q, q]`` (as in ENAS), so ``P(skip) = sigmoid(2 * c * tanh(q / T))``, which keeps
  every skip probability inside ``[sigmoid(-2c), sigmoid(2c)]`` (~[0.047, 0.953]). The
  same clipping caps an op probability at ``e^(2c) / (e^(2c) + K - 1)`` for K ops
  (~0.77 for the defaults and 7 ops): the controller can never become fully greedy;
* after the skip decisions the next input is ``sum(chosen anchors) / (1 + n_chosen)``
  (AMBER/ENAS), i.e. a zero vector when no skip is chosen; layer 0 has no skip step and
  passes its op embedding on;
* after the last layer, one more LSTM step per whole-network decision of the space (stem
  kernel, head; :attr:`ModelSpace.decisions`), each with its own softmax and embedding.
  A space without them builds none of these, so the paper's controller is unchanged.

Skip regulariser: the Bernoulli KL ``KL(Bern(p_ij) || Bern(skip_target))`` per decision,
averaged over the decisions of a layer and then over layers ``1..L-1`` (AMBER's
weighting), giving one value per architecture. Entropies are analytic (sum over all
decisions of the entropy of each decision's distribution).

Everything here runs on CPU in float32; the controller is tiny.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amber.nas.config import ControllerConfig


@dataclass
class Sample:
    """One sampled architecture."""

    ops: list[int]  # op index per layer
    skips: list[list[int]]  # layer i: i ints (0/1), input from layer j < i
    log_prob: float  # total log-probability under the sampling policy
    entropy: float  # sum of the per-decision entropies along this sample
    skip_density: float  # share of the L(L-1)/2 skip decisions that are 1
    op_probs: np.ndarray  # (num_layers, num_ops) op probabilities along this sample
    decisions: list[int] = field(default_factory=list)  # whole-network choices (indices)


class _Rollout(NamedTuple):
    ops: Tensor  # (B, L) long
    skips: Tensor  # (B, L, L) float, strictly lower-triangular
    log_prob: Tensor  # (B,)
    entropy: Tensor  # (B,)
    skip_kl: Tensor  # (B,) skip regulariser
    op_logp: Tensor  # (B, L, K) op log-probabilities
    skip_logit: Tensor  # (B, L, L) logit of P(skip); 0 above/on the diagonal
    decisions: Tensor  # (B, D) long, whole-network choices
    decision_logp: tuple[Tensor, ...]  # D tensors (B, n_d) of log-probabilities


def skips_to_lists(skips: Tensor | np.ndarray) -> list[list[int]]:
    """(L, L) lower-triangular 0/1 matrix -> per-layer lists (layer i has i entries)."""
    mat = np.asarray(skips.detach().cpu() if isinstance(skips, Tensor) else skips)
    return [[int(round(float(x))) for x in mat[i, :i]] for i in range(mat.shape[0])]


def stack_samples(samples: Sequence[Sample]) -> tuple[Tensor, Tensor, Tensor]:
    """Samples -> ``ops`` (B, L) long, ``skips`` (B, L, L) float and ``decisions`` (B, D)
    long, as ``evaluate`` takes."""
    if not samples:
        raise ValueError("no samples")
    num_layers = len(samples[0].ops)
    ops = torch.tensor([s.ops for s in samples], dtype=torch.long)
    skips = torch.zeros(len(samples), num_layers, num_layers)
    for b, s in enumerate(samples):
        if len(s.ops) != num_layers or len(s.skips) != num_layers:
            raise ValueError("samples have different numbers of layers")
        for i, row in enumerate(s.skips):
            if len(row) != i:
                raise ValueError(f"layer {i} needs {i} skip decisions, got {len(row)}")
            if i:
                skips[b, i, :i] = torch.tensor(row, dtype=torch.float32)
    decisions = torch.tensor([s.decisions for s in samples], dtype=torch.long)
    return ops, skips, decisions.reshape(len(samples), -1)


def _bernoulli_kl(logit: Tensor, target: float | Tensor) -> Tensor:
    """KL(Bern(sigmoid(logit)) || Bern(target)), elementwise."""
    target = torch.as_tensor(target, dtype=logit.dtype)
    p = torch.sigmoid(logit)
    return p * (F.logsigmoid(logit) - torch.log(target)) + (1 - p) * (
        F.logsigmoid(-logit) - torch.log1p(-target)
    )


class Controller(nn.Module):
    def __init__(
        self,
        num_layers: int,
        num_ops: int,
        config: ControllerConfig | None = None,
        decisions: Sequence[int] = (),
    ) -> None:
        """``decisions``: the number of candidates of each whole-network decision."""
        super().__init__()
        config = config or ControllerConfig()
        if num_layers < 1 or num_ops < 1:
            raise ValueError("need num_layers >= 1 and num_ops >= 1")
        if any(n < 2 for n in decisions):
            raise ValueError(f"a decision needs at least 2 candidates, got {list(decisions)}")
        self.num_layers = num_layers
        self.num_ops = num_ops
        self.decision_sizes = tuple(decisions)
        self.config = config
        h = config.hidden
        self.lstm = nn.LSTMCell(h, h)
        self.start = nn.Parameter(torch.empty(1, h))  # first LSTM input (ENAS g_emb)
        self.op_emb = nn.Embedding(num_ops, h)  # shared by all layers
        self.op_head = nn.Linear(h, num_ops, bias=False)  # shared softmax weights
        self.attn_w1 = nn.Linear(h, h, bias=False)  # applied to anchors h_j
        self.attn_w2 = nn.Linear(h, h, bias=False)  # applied to the query h_i
        self.attn_v = nn.Linear(h, 1, bias=False)
        self.skip_bias = nn.Parameter(torch.zeros(()))
        self.decision_heads = nn.ModuleList(nn.Linear(h, n, bias=False) for n in decisions)
        self.decision_emb = nn.ModuleList(nn.Embedding(n, h) for n in decisions)
        # ENAS/AMBER initialise every controller weight uniformly in [-0.1, 0.1].
        for name, p in self.named_parameters():
            if name != "skip_bias":
                nn.init.uniform_(p, -0.1, 0.1)

    @property
    def num_skip_decisions(self) -> int:
        return self.num_layers * (self.num_layers - 1) // 2

    def _squash(self, logits: Tensor) -> Tensor:
        c = self.config
        return c.tanh_constant * torch.tanh(logits / c.temperature)

    def _categorical(
        self, logits: Tensor, forced: Tensor | None, generator: torch.Generator | None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """One softmax decision (an op, or a whole-network part): the choice (sampled, or
        ``forced`` when teacher-forcing), the log-probabilities (B, K), the chosen one's
        log-probability and minus the entropy term (``sum p log p``), each (B,)."""
        logp = F.log_softmax(self._squash(logits), dim=-1)
        if forced is None:
            choice = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
        else:
            choice = forced
        neg_entropy = (logp.exp() * logp).sum(-1)
        return choice, logp, logp.gather(1, choice[:, None]).squeeze(1), neg_entropy

    def _rollout(
        self,
        batch: int,
        generator: torch.Generator | None = None,
        ops: Tensor | None = None,
        skips: Tensor | None = None,
        decisions: Tensor | None = None,
    ) -> _Rollout:
        """Unroll the controller for ``batch`` architectures: sample when ``ops`` is None,
        otherwise teacher-force the given ``ops``/``skips``/``decisions`` (same code path,
        so sampled and re-evaluated log-probabilities agree)."""
        teacher = ops is not None
        device = self.start.device
        L = self.num_layers
        h = torch.zeros(batch, self.config.hidden, device=device)
        c = torch.zeros_like(h)
        x = self.start.expand(batch, -1)
        out_ops = torch.zeros(batch, L, dtype=torch.long, device=device)
        out_skips = torch.zeros(batch, L, L, device=device)
        skip_logit = torch.zeros(batch, L, L, device=device)
        log_prob = torch.zeros(batch, device=device)
        entropy = torch.zeros(batch, device=device)
        op_logps: list[Tensor] = []
        layer_kls: list[Tensor] = []
        anchors: list[Tensor] = []
        anchor_keys: list[Tensor] = []
        for i in range(L):
            h, c = self.lstm(x, (h, c))
            op, logp, chosen, neg_ent = self._categorical(
                self.op_head(h), ops[:, i] if teacher else None, generator
            )  # logp: (B, K)
            out_ops[:, i] = op
            op_logps.append(logp)
            log_prob = log_prob + chosen
            entropy = entropy - neg_ent
            x = self.op_emb(op)
            if i > 0:
                h, c = self.lstm(x, (h, c))
                keys = torch.stack(anchor_keys, 1)  # (B, i, H)
                q = self.attn_v(torch.tanh(keys + self.attn_w2(h)[:, None])).squeeze(-1)
                # two-way softmax over [-q', q'] == sigmoid(2 q')  (ENAS convention)
                logit = 2.0 * self._squash(q + self.skip_bias)  # (B, i)
                if teacher:
                    s = skips[:, i, :i].to(logit.dtype)
                else:
                    s = torch.bernoulli(torch.sigmoid(logit), generator=generator)
                out_skips[:, i, :i] = s
                skip_logit[:, i, :i] = logit
                log_p1, log_p0 = F.logsigmoid(logit), F.logsigmoid(-logit)
                p = torch.sigmoid(logit)
                log_prob = log_prob + (s * log_p1 + (1 - s) * log_p0).sum(-1)
                entropy = entropy - (p * log_p1 + (1 - p) * log_p0).sum(-1)
                layer_kls.append(_bernoulli_kl(logit, self.config.skip_target).mean(-1))
                x = (s[:, :, None] * torch.stack(anchors, 1)).sum(1) / (1 + s.sum(-1, keepdim=True))
            anchors.append(h)
            anchor_keys.append(self.attn_w1(h))
        out_decisions = torch.zeros(
            batch, len(self.decision_sizes), dtype=torch.long, device=device
        )
        decision_logps: list[Tensor] = []
        for d, (head, emb) in enumerate(zip(self.decision_heads, self.decision_emb, strict=True)):
            h, c = self.lstm(x, (h, c))
            choice, logp, chosen, neg_ent = self._categorical(
                head(h), decisions[:, d] if teacher else None, generator
            )  # logp: (B, n_d)
            out_decisions[:, d] = choice
            decision_logps.append(logp)
            log_prob = log_prob + chosen
            entropy = entropy - neg_ent
            x = emb(choice)
        skip_kl = torch.stack(layer_kls, 1).mean(1) if layer_kls else torch.zeros_like(log_prob)
        return _Rollout(
            out_ops,
            out_skips,
            log_prob,
            entropy,
            skip_kl,
            torch.stack(op_logps, 1),
            skip_logit,
            out_decisions,
            tuple(decision_logps),
        )

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> list[Sample]:
        """Sample ``n`` architectures in one batched unroll (deterministic given
        ``generator``'s state)."""
        if n < 1:
            raise ValueError("n must be >= 1")
        r = self._rollout(n, generator=generator)
        op_probs = r.op_logp.exp().cpu().numpy()
        n_skip = self.num_skip_decisions
        out = []
        for b in range(n):
            skips = skips_to_lists(r.skips[b])
            total = sum(sum(row) for row in skips)
            out.append(
                Sample(
                    ops=[int(o) for o in r.ops[b].tolist()],
                    skips=skips,
                    log_prob=float(r.log_prob[b]),
                    entropy=float(r.entropy[b]),
                    skip_density=total / n_skip if n_skip else 0.0,
                    op_probs=op_probs[b].copy(),
                    decisions=[int(v) for v in r.decisions[b].tolist()],
                )
            )
        return out

    def _teacher(self, ops: Tensor, skips: Tensor, decisions: Tensor | None = None) -> _Rollout:
        L, D = self.num_layers, len(self.decision_sizes)
        if decisions is None:
            decisions = torch.zeros(ops.shape[0], 0, dtype=torch.long)
        if decisions.shape != (ops.shape[0], D):
            raise ValueError(
                f"decisions must be ({ops.shape[0]}, {D}), got {tuple(decisions.shape)}"
            )
        for d, n in enumerate(self.decision_sizes):
            if decisions[:, d].min() < 0 or decisions[:, d].max() >= n:
                raise ValueError(f"decision {d} index out of range 0..{n - 1}")
        if ops.dim() != 2 or ops.shape[1] != L:
            raise ValueError(f"ops must be (B, {L}), got {tuple(ops.shape)}")
        if skips.shape != (ops.shape[0], L, L):
            raise ValueError(f"skips must be ({ops.shape[0]}, {L}, {L}), got {tuple(skips.shape)}")
        if ops.min() < 0 or ops.max() >= self.num_ops:
            raise ValueError("op index out of range")
        device = self.start.device
        return self._rollout(
            ops.shape[0],
            ops=ops.to(device),
            skips=skips.to(device),
            decisions=decisions.to(device),
        )

    def evaluate(
        self, ops: Tensor, skips: Tensor, decisions: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Teacher-forced ``(log_prob, entropy, skip_kl)``, each (B,), with gradients.
        ``ops``: (B, L) long; ``skips``: (B, L, L) 0/1, only the strict lower triangle read;
        ``decisions``: (B, D) long (may be left out when the space has none)."""
        r = self._teacher(ops, skips, decisions)
        return r.log_prob, r.entropy, r.skip_kl

    def op_embeddings(self) -> np.ndarray:
        """(num_ops, hidden) op embedding matrix (for the PCA of AMBER Fig. 3b)."""
        return self.op_emb.weight.detach().cpu().numpy().copy()


def _policy_kl(old: _Rollout, new: _Rollout, num_skip: int) -> Tensor:
    """Mean over architectures of the per-decision KL(old || new) along each architecture
    (op decisions and skip decisions weighted alike; AMBER averages likewise)."""
    op_kl = (old.op_logp.exp() * (old.op_logp - new.op_logp)).sum(-1).sum(-1)  # (B,)
    for a, b in zip(old.decision_logp, new.decision_logp, strict=True):
        op_kl = op_kl + (a.exp() * (a - b)).sum(-1)
    p = torch.sigmoid(old.skip_logit)
    skip_kl = p * (F.logsigmoid(old.skip_logit) - F.logsigmoid(new.skip_logit)) + (1 - p) * (
        F.logsigmoid(-old.skip_logit) - F.logsigmoid(-new.skip_logit)
    )
    mask = torch.ones_like(skip_kl[0]).tril(-1)
    total = op_kl + (skip_kl * mask).sum((-1, -2))
    n_decisions = old.op_logp.shape[1] + num_skip + len(old.decision_logp)
    return (total / n_decisions).mean()


class ReinforceTrainer:
    """REINFORCE with a moving-average baseline, several passes of mini-batch Adam steps
    per controller step, and KL early stopping (AMBER's controller ``train``).

    Loss per mini-batch: ``-sum_b(log_prob_b * adv_b) + skip_weight * mean_b(skip_kl_b)
    - entropy_weight * mean_b(entropy_b)``; the policy term is summed over the mini-batch as
    in AMBER (``tensordot(log_prob, advantage)``), so ``skip_weight`` keeps its meaning.
    After each pass the KL between the sampling policy and the current one, measured on
    all of the step's architectures, is checked; the update stops once it exceeds
    ``kl_stop`` (so at least one pass always runs)."""

    def __init__(self, controller: Controller, config: ControllerConfig) -> None:
        self.controller = controller
        self.config = config
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=config.lr)
        self.baseline: float | None = None
        self.last_mean: float | None = None  # previous step's mean reward

    def _advance_baseline(self, mean_reward: float) -> float:
        if self.baseline is None or self.last_mean is None:
            self.baseline = mean_reward
        else:
            d = self.config.baseline_decay
            self.baseline = d * self.baseline + (1 - d) * self.last_mean
        self.last_mean = mean_reward
        return self.baseline

    def update(
        self, samples: Sequence[Sample], rewards: Sequence[float], generator: torch.Generator
    ) -> dict:
        cfg = self.config
        r = np.asarray(rewards, dtype=np.float64).reshape(-1)
        if len(samples) == 0 or len(samples) != r.size:
            raise ValueError(f"got {len(samples)} samples and {r.size} rewards")
        if not np.all(np.isfinite(r)):
            bad = np.flatnonzero(~np.isfinite(r)).tolist()
            raise ValueError(f"non-finite reward(s) at index {bad}: {r[bad].tolist()}")
        ops, skips, decisions = stack_samples(samples)
        ctrl = self.controller
        with torch.no_grad():
            old = ctrl._teacher(ops, skips, decisions)
        baseline = self._advance_baseline(float(r.mean()))
        adv = r - baseline
        if cfg.normalize_advantage and r.std() > 0:
            adv = adv / r.std()
        adv = torch.as_tensor(
            np.clip(adv, -cfg.advantage_clip, cfg.advantage_clip), dtype=torch.float32
        )
        losses: list[float] = []
        passes_done, approx_kl = 0, 0.0
        for _ in range(cfg.update_passes):
            order = torch.randperm(len(samples), generator=generator)
            for idx in order.split(cfg.update_batch):
                log_prob, entropy, skip_kl = ctrl.evaluate(ops[idx], skips[idx], decisions[idx])
                loss = (
                    -(log_prob * adv[idx]).sum()
                    + cfg.skip_weight * skip_kl.mean()
                    - cfg.entropy_weight * entropy.mean()
                )
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                losses.append(loss.item())
            passes_done += 1
            with torch.no_grad():
                approx_kl = float(
                    _policy_kl(old, ctrl._teacher(ops, skips, decisions), ctrl.num_skip_decisions)
                )
            if not math.isfinite(approx_kl) or approx_kl > cfg.kl_stop:
                break
        return {
            "loss": float(np.mean(losses)),
            "baseline": float(baseline),
            "mean_reward": float(r.mean()),
            "mean_advantage": float(adv.mean()),
            "passes_done": passes_done,
            "approx_kl": approx_kl,
            "skip_density": float(np.mean([s.skip_density for s in samples])),
            "entropy": float(np.mean([s.entropy for s in samples])),
        }

    def state_dict(self) -> dict:
        # Deep copy: torch's state dicts alias live tensors, which later updates would mutate.
        return copy.deepcopy(
            {
                "controller": self.controller.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "baseline": self.baseline,
                "last_mean": self.last_mean,
            }
        )

    def load_state_dict(self, state: dict) -> None:
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = state["baseline"]
        self.last_mean = state["last_mean"]
