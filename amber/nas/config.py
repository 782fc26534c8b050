"""Settings of the search: plain dataclasses, importable without torch (the CLI builds
its flags from them)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ControllerConfig:
    hidden: int = 64
    temperature: float = 2.0
    tanh_constant: float = 1.5
    skip_target: float = 0.4
    skip_weight: float = 1.0
    entropy_weight: float = 0.0
    lr: float = 1e-3
    # baseline_t = decay * baseline_{t-1} + (1 - decay) * mean reward of step t-1
    # (AMBER's buffer); the first step uses its own mean. decay=0: previous step's mean.
    baseline_decay: float = 0.0
    advantage_clip: float = 10.0
    update_passes: int = 10
    update_batch: int = 20
    kl_stop: float = 0.01
    # Divide each step's advantages by the standard deviation of its rewards: AUROC
    # rewards differ by ~0.01, which moves an unnormalised policy too slowly to learn.
    normalize_advantage: bool = False

    def __post_init__(self) -> None:
        checks = {
            "hidden >= 1": self.hidden >= 1,
            "temperature > 0": self.temperature > 0,
            "tanh_constant > 0": self.tanh_constant > 0,
            "0 < skip_target < 1": 0 < self.skip_target < 1,
            "lr > 0": self.lr > 0,
            "0 <= baseline_decay < 1": 0 <= self.baseline_decay < 1,
            "advantage_clip > 0": self.advantage_clip > 0,
            "update_passes >= 1": self.update_passes >= 1,
            "update_batch >= 1": self.update_batch >= 1,
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            raise ValueError(f"invalid ControllerConfig: need {', '.join(failed)}")


STRATEGIES = ("enas", "random_ws", "short_training")


@dataclass(frozen=True)
class SearchConfig:
    """Sizes of the search. Defaults suit the demo; the paper used 300 steps, 500 child
    batches of 1000 and 100 architectures per step."""

    steps: int = 20
    warmup_batches: int = 50
    child_batches: int = 20
    batch_size: int = 128
    archs_per_step: int = 20
    valid_samples: int | None = 2000
    eval_batch_size: int = 256
    child_lr: float = 1e-3
    seed: int = 1
    device: str = "auto"
    bf16: bool = True  # bfloat16 autocast where the hardware has it (amber.device)
    # "enas": the controller samples and learns; "random_ws": the supernet is trained on
    # uniform draws and, after the last step, steps * archs_per_step uniform draws are
    # ranked by its reward (random search with weight sharing, at the same budget);
    # "short_training": no weight sharing, each of ``steps`` uniform draws is trained alone
    # for ``child_batches`` batches and scored; the best is the result.
    strategy: str = "enas"
    # short_training only (one round of successive halving): the best ``finalists`` of the
    # screened candidates train on, to ``finalist_batches`` batches in all, and the best of
    # them by that longer training is the result. 0 = the screen decides.
    finalists: int = 0
    finalist_batches: int = 0
    # Training samples forwarded (BatchNorm in train mode, no gradients) to recompute an
    # architecture's BatchNorm statistics before its reward: the running statistics the
    # supernet keeps are averages over many architectures. 0 = use them as they are.
    bn_recalibration: int = 0
    controller: ControllerConfig = field(default_factory=ControllerConfig)

    def __post_init__(self) -> None:
        checks = {
            "steps >= 1": self.steps >= 1,
            "warmup_batches >= 0": self.warmup_batches >= 0,
            "child_batches >= 0": self.child_batches >= 0,
            "batch_size >= 1": self.batch_size >= 1,
            "archs_per_step >= 1": self.archs_per_step >= 1,
            "valid_samples >= 1 or None (all)": self.valid_samples is None
            or self.valid_samples >= 1,
            "eval_batch_size >= 1": self.eval_batch_size >= 1,
            "child_lr > 0": self.child_lr > 0,
            f"strategy in {STRATEGIES}": self.strategy in STRATEGIES,
            "bn_recalibration >= 0": self.bn_recalibration >= 0,
            "0 <= finalists <= steps": 0 <= self.finalists <= self.steps,
            "finalists only with strategy short_training": self.finalists == 0
            or self.strategy == "short_training",
            "finalist_batches > child_batches when finalists > 0": self.finalists == 0
            or self.finalist_batches > self.child_batches,
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            raise ValueError(f"invalid search settings: need {', '.join(failed)}")
