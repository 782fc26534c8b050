"""The ENAS search loop: train a weight-sharing supernet on controller-sampled
architectures, reward the controller with validation AUROC, repeat.

One controller step (as in AMBER, sizes configurable; ``strategy: enas``):
1. child training: ``child_batches`` mini-batches, a freshly sampled architecture each;
2. reward: ``archs_per_step`` sampled architectures, each scored on the same validation
   subsample (mean AUROC over features with both classes);
3. controller update (REINFORCE) on those (architecture, reward) pairs.
A warm-up of ``warmup_batches`` child batches precedes step 1. After the last step the
best-rewarded architecture of that step is the result.

``strategy: random_ws`` (random search with weight sharing) spends the same budget
without a controller: every child batch trains a uniformly drawn architecture, and after
the last step ``steps * archs_per_step`` uniform architectures (as many rewards as ENAS
computes) are ranked by the final supernet; the best is the result.

``strategy: short_training`` (random search ranked by a short stand-alone training)
shares no weights: each step draws one architecture uniformly, trains it alone for
``child_batches`` batches from the untrained supernet's weights for it (PyTorch's
initialisation, output biases at the prior) and scores it on the validation subsample;
after ``steps`` candidates the best is the result. On the demo a supernet's reward does
not rank architectures while ~200 batches of training alone do (README, "Does the search
beat random architectures?"). Its ``supernet.pt`` is the untrained supernet. With
``finalists`` k > 0 (one round of successive halving) the k best-rewarded candidates of
that screen train on (steps ``steps`` .. ``steps + k - 1``, one finalist each, from
where their screen left them, optimiser state included) to ``finalist_batches`` in all
and are scored again; the best finalist is the result. Only the k best candidates so far
are kept in memory and in the checkpoint.

Resume: a checkpoint is written atomically after the warm-up and after every step. It
holds every random state (controller sampler, torch), the optimisers, the history and
a fingerprint of the inputs; each step draws its training batches from a permutation
seeded by (seed, step). A run killed anywhere and restarted with the same command
therefore continues from the last finished step and ends with the same result as an
uninterrupted run (bit-identical on CPU).
Once the outputs are written the checkpoint is deleted (the supernet's weights stay in
``supernet.pt``), so a finished search never blocks a rerun with other settings; a
checkpoint of an unfinished run with other settings or data is refused.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import itertools
import json
import logging
import resource
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from amber.data.loader import batches_for_step, dataset_info, positive_rates, read_subsample
from amber.device import (
    autocast,
    pick_device,
    precision_name,
    resume_checkpoint,
    save_checkpoint,
    use_bf16,
)
from amber.fileio import atomic_path, save_torch
from amber.metrics import mean_auroc
from amber.nas.arch import Architecture, sample_uniform
from amber.nas.child import ChildNet, build_child, load_child_from_supernet
from amber.nas.config import SearchConfig
from amber.nas.controller import Controller, ReinforceTrainer, Sample
from amber.nas.ops import start_at_prior_
from amber.nas.space import ModelSpace, load_space
from amber.nas.supernet import Supernet
from amber.progress import Progress

log = logging.getLogger("amber")

CHECKPOINT = "checkpoint.pt"
SUPERNET = "supernet.pt"
OUTPUTS = ("arch.json", "history.csv", "op_probs.tsv", "op_embeddings.tsv", "summary.json")
HISTORY_FIELDS = (
    "step",
    "mean_reward",
    "max_reward",
    "baseline",
    "loss",
    "skip_density",
    "entropy",
    "child_loss",
    "best_arch",
    "seconds",
    "train_samples",
    "train_seconds",
    "score_samples",
    "score_seconds",
    "peak_rss_mb",
)
# Columns that measure the machine, not the search: they differ between equal runs.
MACHINE_FIELDS = ("seconds", "train_seconds", "score_seconds", "peak_rss_mb")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if peak > 2**32 else peak / 1024


def to_architecture(space: ModelSpace, sample: Sample) -> Architecture:
    return Architecture.from_indices(space, sample.ops, sample.skips, sample.decisions)


def _fingerprint(config: SearchConfig, space: ModelSpace, train: Path, valid: Path) -> str:
    """Inputs a checkpoint must match to be resumed (device and logging excluded)."""
    payload = dataclasses.asdict(config)
    payload.pop("device")
    payload["space"] = dataclasses.asdict(space) if dataclasses.is_dataclass(space) else str(space)
    for key, path in (("train", train), ("valid", valid)):
        stat = Path(path).stat()
        payload[key] = [str(Path(path).resolve()), stat.st_size]
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


@torch.no_grad()
def recalibrate_bn(
    supernet: Supernet, arch: Architecture, x: torch.Tensor, batch_size: int, *, bf16: bool = False
) -> None:
    """Set the BatchNorm statistics ``arch`` uses to their exact values on ``x``.

    Running statistics are reset and accumulated as plain averages (momentum None) with
    only the BatchNorm layers in train mode, so dropout stays off and nothing learns.
    BatchNorms the architecture does not use are left reset; the next call resets them
    anyway, and training never reads running statistics.
    """
    supernet.eval()
    norms = [m for m in supernet.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in norms]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    try:
        for start in range(0, x.shape[0], batch_size):
            with autocast(x.device, bf16):
                supernet.forward_logits(x[start : start + batch_size], arch)
    finally:
        for bn, momentum in zip(norms, momenta, strict=True):
            bn.momentum = momentum
        supernet.eval()


@torch.no_grad()
def evaluate_reward(
    supernet: Supernet | ChildNet,
    arch: Architecture,
    x: torch.Tensor,
    y: np.ndarray,
    batch_size: int,
    *,
    bf16: bool = False,
    recalibrate: torch.Tensor | None = None,
) -> float:
    """Mean validation AUROC of ``arch`` inside the supernet (eval mode), or of a child
    built for ``arch`` (``recalibrate`` must then be None).

    ``bf16``: run the backbone under bfloat16 autocast (the logits stay float32).
    ``recalibrate``: training inputs to recompute the BatchNorm statistics from first
    (:func:`recalibrate_bn`); None scores with the stored running statistics.
    """
    logits = supernet_logits(supernet, arch, x, batch_size, bf16=bf16, recalibrate=recalibrate)
    return mean_auroc(y, logits)


@torch.no_grad()
def supernet_logits(
    supernet: Supernet | ChildNet,
    arch: Architecture,
    x: torch.Tensor,
    batch_size: int,
    *,
    bf16: bool = False,
    recalibrate: torch.Tensor | None = None,
) -> np.ndarray:
    """Float32 logits (N, F) of ``arch`` inside the supernet; arguments as
    :func:`evaluate_reward`."""
    if recalibrate is not None:
        recalibrate_bn(supernet, arch, recalibrate, batch_size, bf16=bf16)
    supernet.eval()
    scores = []
    for start in range(0, x.shape[0], batch_size):
        with autocast(x.device, bf16):
            logits = _forward_logits(supernet, x[start : start + batch_size], arch)
        scores.append(logits.float().cpu())
    return torch.cat(scores).numpy()


def uniform_archs(
    space: ModelSpace, n: int, seed: int, step: int, skip_prob: float
) -> list[Architecture]:
    """``n`` uniform architectures drawn from a generator seeded by (seed, step), so a
    resumed search draws the same ones without keeping random state."""
    rng = np.random.default_rng([seed, step + 1])
    return [sample_uniform(space, rng, skip_prob=skip_prob) for _ in range(n)]


def _ranking(archs: list[Architecture], rewards: list[float]) -> dict:
    """The candidates the result is chosen from (best reward wins), as the checkpoint keeps them."""
    return {"archs": [a.to_json() for a in archs], "rewards": [float(r) for r in rewards]}


def _forward_logits(net: Supernet | ChildNet, x: torch.Tensor, arch: Architecture) -> torch.Tensor:
    """``arch``'s logits: a supernet runs that architecture, a child is one."""
    return net.forward_logits(x) if isinstance(net, ChildNet) else net.forward_logits(x, arch)


def _train_children(
    net: Supernet | ChildNet,
    optimizer: torch.optim.Optimizer,
    archs: list[Architecture],
    batches,
    device: torch.device,
    bf16: bool,
) -> tuple[float, int]:
    """One update per (architecture, batch) of a supernet, or of a child (which has only
    its own architecture); returns (mean loss, samples)."""
    net.train()
    loss_fn = nn.BCEWithLogitsLoss()
    losses, samples = [], 0
    for arch, (x, y) in zip(archs, batches, strict=False):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, bf16):
            logits = _forward_logits(net, x, arch)
        loss = loss_fn(logits, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        samples += x.shape[0]
    return (float(np.mean(losses)) if losses else float("nan")), samples


def _write_outputs(out_dir: Path, state: dict, space: ModelSpace, controller: Controller) -> None:
    with atomic_path(out_dir / "history.csv") as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HISTORY_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(state["history"])
    with atomic_path(out_dir / "op_probs.tsv") as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["step", "layer", *space.op_names])
        for step, probs in state["op_probs"]:
            for layer, row in enumerate(probs):
                writer.writerow([step, layer, *(f"{p:.6f}" for p in row)])
    emb = controller.op_embeddings()
    with atomic_path(out_dir / "op_embeddings.tsv") as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["op", *(f"e{i}" for i in range(emb.shape[1]))])
        for name, row in zip(space.op_names, emb, strict=True):
            writer.writerow([name, *(f"{v:.6g}" for v in row)])


@dataclasses.dataclass
class SearchState:
    """A search between steps: supernet, controller and its trainer, the supernet's
    optimiser, the controller's sampling generator and ``progress`` (steps done,
    history, op probabilities, the last step's candidates). A checkpoint is its
    :meth:`state_dict`, which is how :func:`run_search` resumes."""

    supernet: Supernet
    controller: Controller
    trainer: ReinforceTrainer
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    progress: dict[str, Any]

    @classmethod
    def start(
        cls,
        space: ModelSpace,
        seq_len: int,
        n_features: int,
        config: SearchConfig,
        device: torch.device | str = "cpu",
    ) -> SearchState:
        """A fresh search; seeds torch with ``config.seed`` first (weights are drawn)."""
        torch.manual_seed(config.seed)
        supernet = Supernet(space, seq_len=seq_len, n_features=n_features).to(device)
        controller = Controller(
            space.num_layers,
            len(space.op_names),
            config.controller,
            decisions=[len(options) for _, options in space.decisions],
        )
        trainer = ReinforceTrainer(controller, config.controller)
        optimizer = torch.optim.Adam(supernet.parameters(), lr=config.child_lr)
        generator = torch.Generator().manual_seed(config.seed)
        progress = {
            "step": -1, "history": [], "op_probs": [], "last_step": None, "final": None, "kept": []
        }  # fmt: skip
        return cls(supernet, controller, trainer, optimizer, generator, progress)

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.progress["history"]

    def state_dict(self) -> dict[str, Any]:
        return {
            "supernet": self.supernet.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "trainer": self.trainer.state_dict(),
            "generator": self.generator.get_state(),
            "state": self.progress,
        }

    def load_state_dict(self, payload: dict[str, Any]) -> None:
        self.supernet.load_state_dict(payload["supernet"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.trainer.load_state_dict(payload["trainer"])
        self.generator.set_state(payload["generator"])
        self.progress = payload["state"]


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """The best-rewarded architecture of the last step (or of the final ranking), its
    reward, and the state the search ended in (supernet, controller, history)."""

    arch: Architecture
    reward: float
    state: SearchState

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.state.history


Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def search(
    space: ModelSpace,
    train_batches: Callable[[int, int], Batches] | Batches,
    valid: tuple[torch.Tensor, np.ndarray | torch.Tensor],
    config: SearchConfig,
    *,
    state: SearchState | None = None,
    on_step: Callable[[SearchState], None] | None = None,
    recalibrate: torch.Tensor | None = None,
) -> SearchResult:
    """Run the search loop of ``config.strategy`` in memory; no files are read or written.

    ``train_batches``: ``(x float (B, 4, L), y float (B, F))`` pairs for the supernet,
    either a callable ``(step, n) -> n batches`` (the warm-up is step -1) or an iterable
    from which each step takes the next ``n`` (it must not run out). ``valid``: the
    ``(x, y)`` every reward is scored on. ``state``: continue a search
    (:meth:`SearchState.load_state_dict`); by default a fresh one on ``config.device``.
    ``on_step(state)`` runs after the warm-up, after every step and after the final
    ranking (checkpoints, outputs). ``recalibrate``: training inputs that reset each
    architecture's BatchNorm statistics before its reward. ``config.batch_size``,
    ``valid_samples`` and ``bn_recalibration`` are read by :func:`run_search` only: here
    the batches and tensors passed in decide. Output biases start at zero unless the
    state's supernet was passed through :func:`amber.nas.ops.start_at_prior_`.
    """
    device = pick_device(config.device)
    bf16 = use_bf16(config.bf16, device)
    if state is None:
        x0 = valid[0]
        state = SearchState.start(space, x0.shape[-1], _n_features(valid[1]), config, device)
    supernet, controller, generator = state.supernet, state.controller, state.generator
    progress_state = state.progress
    if callable(train_batches):
        take = train_batches
    else:
        stream = iter(train_batches)

        def take(step: int, n: int) -> Batches:
            return itertools.islice(stream, n)

    x_valid = valid[0].to(device)
    y_valid = np.asarray(valid[1])
    x_recal = None if recalibrate is None else recalibrate.to(device)
    uniform = config.strategy == "random_ws"
    alone = config.strategy == "short_training"
    skip_prob = config.controller.skip_target
    log.info("%s search on %s in %s", config.strategy, device, precision_name(bf16))

    def score(archs: list[Architecture]) -> list[float]:
        return [
            evaluate_reward(
                supernet,
                a,
                x_valid,
                y_valid,
                config.eval_batch_size,
                bf16=bf16,
                recalibrate=x_recal,
            )
            for a in archs
        ]

    def train_alone(
        step: int, arch: Architecture, n_batches: int, resume: dict | None = None
    ) -> tuple[float, int, ChildNet, torch.optim.Optimizer]:
        """(loss, samples, child, optimiser) of ``arch`` trained alone for ``n_batches``,
        from the untrained supernet or from ``resume`` (a kept candidate's states)."""
        child = build_child(arch, space, supernet.seq_len, supernet.n_features)
        child = load_child_from_supernet(child, supernet, arch).to(device)
        optimizer = torch.optim.Adam(child.parameters(), lr=config.child_lr)
        if resume is not None:
            child.load_state_dict(resume["child"])
            optimizer.load_state_dict(resume["optimizer"])
        batches = take(step + 1, n_batches)
        loss, samples = _train_children(child, optimizer, [arch] * n_batches, batches, device, bf16)
        return loss, samples, child, optimizer

    def keep_candidate(arch: Architecture, reward: float, child: ChildNet, optimizer) -> None:
        """Keep the ``finalists`` best-rewarded screened candidates (ties: the earlier)."""
        kept = [
            *progress_state.get("kept", []),
            {
                "arch": arch.to_json(),
                "reward": float(reward),
                "child": {k: v.detach().cpu().clone() for k, v in child.state_dict().items()},
                "optimizer": optimizer.state_dict(),
            },
        ]
        kept.sort(key=lambda c: -c["reward"])  # stable: an earlier candidate wins a tie
        progress_state["kept"] = kept[:finalists]

    def child_step(step: int, n_batches: int) -> tuple[float, int]:
        if n_batches == 0:
            return float("nan"), 0
        if uniform:
            archs = uniform_archs(space, n_batches, config.seed, step, skip_prob)
        else:
            archs = [to_architecture(space, s) for s in controller.sample(n_batches, generator)]
        batches = take(step + 1, n_batches)
        return _train_children(supernet, state.optimizer, archs, batches, device, bf16)

    def done(s: SearchState) -> None:
        if on_step is not None:
            on_step(s)

    if progress_state["step"] < 0:
        if not alone:  # short training leaves the supernet untrained: it is every start
            log.info("warm-up: %d child batches", config.warmup_batches)
            child_step(-1, config.warmup_batches)
        progress_state["step"] = 0
        done(state)

    finalists = config.finalists if alone else 0
    total_steps = config.steps + finalists
    progress = Progress(
        range(progress_state["step"], total_steps),
        total=total_steps,
        initial=progress_state["step"],
        desc="search step",
    )
    nan = float("nan")
    for step in progress:
        t0 = time.monotonic()
        final = step >= config.steps  # a finalist trains on
        if final:
            kept = progress_state["kept"][step - config.steps]
            arch = Architecture.from_json(kept["arch"])
            extra = config.finalist_batches - config.child_batches
            child_loss, train_samples, child, optimizer = train_alone(step, arch, extra, kept)
        elif alone:
            arch = uniform_archs(space, 1, config.seed, step, skip_prob)[0]
            child_loss, train_samples, child, optimizer = train_alone(
                step, arch, config.child_batches
            )
        else:
            child_loss, train_samples = child_step(step, config.child_batches)
        t_train = time.monotonic() - t0
        t1 = time.monotonic()
        if alone or uniform:  # no controller: the draws are uniform
            stats = {"baseline": nan, "loss": nan}
            op_probs = np.full((space.num_layers, space.num_ops), 1 / space.num_ops)
            skip_density, entropy = skip_prob, nan
            rewards, archs, t_score, best_arch = [], [], 0.0, ""
        if alone:  # one candidate per step; all of them are ranked at the end
            reward = evaluate_reward(
                child, arch, x_valid, y_valid, config.eval_batch_size, bf16=bf16
            )
            rewards, archs, best_arch = [reward], [arch], arch.to_json()
            n_skip = arch.num_layers * (arch.num_layers - 1) // 2
            skip_density = arch.num_skips / n_skip if n_skip else 0.0  # this candidate's
            t_score = time.monotonic() - t1
            # The result is chosen among the screened candidates, or among the finalists.
            key = "final" if final else "last_step"
            seen = progress_state.get(key) or _ranking([], [])
            progress_state[key] = {
                "archs": [*seen["archs"], arch.to_json()],
                "rewards": [*seen["rewards"], float(reward)],
            }
            if finalists and not final:
                keep_candidate(arch, reward, child, optimizer)
            elif final and step == total_steps - 1:
                progress_state["kept"] = []  # the finalists' weights are no longer needed
        elif not uniform:  # ENAS: the controller samples, is rewarded and learns
            samples = controller.sample(config.archs_per_step, generator)
            archs = [to_architecture(space, s) for s in samples]
            rewards = score(archs)
            t_score = time.monotonic() - t1
            stats = state.trainer.update(samples, rewards, generator)
            op_probs = np.mean([s.op_probs for s in samples], axis=0)
            skip_density = float(np.mean([s.skip_density for s in samples]))
            entropy = float(np.mean([s.entropy for s in samples]))
            best_arch = archs[int(np.argmax(rewards))].to_json()
            progress_state["last_step"] = _ranking(archs, rewards)
        progress_state["op_probs"].append((step, op_probs.tolist()))
        progress_state["history"].append(
            {
                "step": step,
                "mean_reward": float(np.mean(rewards)) if rewards else nan,
                "max_reward": float(np.max(rewards)) if rewards else nan,
                "baseline": stats["baseline"],
                "loss": stats["loss"],
                "skip_density": skip_density,
                "entropy": entropy,
                "child_loss": child_loss,
                "best_arch": json.dumps(best_arch, separators=(",", ":")) if best_arch else "",
                "seconds": round(time.monotonic() - t0, 3),
                "train_samples": train_samples,
                "train_seconds": round(t_train, 3),
                "score_samples": len(archs) * x_valid.shape[0],
                "score_seconds": round(t_score, 3),
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }
        )
        progress_state["step"] = step + 1
        done(state)
        progress.set(
            reward=progress_state["history"][-1]["mean_reward"],
            loss=child_loss,
            skips=skip_density,
        )

    if uniform and progress_state["last_step"] is None:
        n = config.steps * config.archs_per_step
        log.info("ranking %d uniform architectures by their supernet reward", n)
        archs = uniform_archs(space, n, config.seed, config.steps, skip_prob)
        progress_state["last_step"] = _ranking(archs, score(archs))
        done(state)
    last = progress_state["final"] if finalists else progress_state["last_step"]
    best = int(np.argmax(last["rewards"]))
    return SearchResult(Architecture.from_json(last["archs"][best]), last["rewards"][best], state)


def _n_features(y: np.ndarray | torch.Tensor) -> int:
    shape = y.shape
    return 1 if len(shape) == 1 else int(shape[1])


def run_search(
    space_path: Path,
    train_h5: Path,
    valid_h5: Path,
    out_dir: Path,
    config: SearchConfig,
) -> dict:
    """Run (or resume) a search; write ``arch.json``, ``history.csv``, ``op_probs.tsv``,
    ``op_embeddings.tsv``, ``supernet.pt`` (the trained shared weights, a ``state_dict``)
    and ``summary.json`` into ``out_dir``; ``checkpoint.pt`` lives only while it runs.
    The file wrapper of :func:`search`: datasets, checkpoint and resume, outputs."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    space = load_space(space_path)
    info = dataset_info(train_h5)
    device = pick_device(config.device)
    bf16 = use_bf16(config.bf16, device)
    fingerprint = _fingerprint(config, space, Path(train_h5), Path(valid_h5))
    state = SearchState.start(space, info["seq_len"], info["n_features"], config, device)

    ckpt_path = out_dir / CHECKPOINT
    ckpt = resume_checkpoint(ckpt_path, fingerprint, "search")
    if ckpt is not None:
        state.load_state_dict(ckpt)
        torch.set_rng_state(ckpt["torch_rng"])
        log.info("resuming search from %s after step %d", ckpt_path, state.progress["step"])
    else:  # a fresh start: no output of an earlier run may outlive a kill of this one
        for name in (*OUTPUTS, SUPERNET):
            (out_dir / name).unlink(missing_ok=True)
        # Read only here: a resumed search takes its biases from the checkpoint.
        start_at_prior_(state.supernet, positive_rates(train_h5))

    def on_step(s: SearchState) -> None:
        save_checkpoint(
            ckpt_path, fingerprint, {**s.state_dict(), "torch_rng": torch.get_rng_state()}
        )
        if s.progress["history"]:
            _write_outputs(out_dir, s.progress, space, s.controller)

    def step_batches(step: int, n: int) -> Batches:
        return batches_for_step(train_h5, config.batch_size, n, seed=config.seed, step=step)

    valid = read_subsample(valid_h5, config.valid_samples, seed=config.seed)
    x_recal = None
    if config.bn_recalibration:
        x_recal = read_subsample(train_h5, config.bn_recalibration, seed=config.seed)[0]
    started = time.monotonic()
    result = search(
        space,
        step_batches,
        valid,
        config,
        state=state,
        on_step=on_step,
        recalibrate=x_recal,
    )
    _write_outputs(out_dir, state.progress, space, state.controller)
    save_torch(state.supernet.state_dict(), out_dir / SUPERNET)
    result.arch.save(out_dir / "arch.json")
    summary = {
        "best_reward": result.reward,
        "steps": config.steps,
        "device": str(device),
        "precision": precision_name(bf16),
        "seconds_this_run": round(time.monotonic() - started, 1),
        "n_features": info["n_features"],
        "seq_len": info["seq_len"],
        "config": dataclasses.asdict(config),
    }
    with atomic_path(out_dir / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str))
    ckpt_path.unlink(missing_ok=True)
    return summary
