"""Settings of final training: a plain dataclass, importable without torch (the CLI
builds its flags from it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    """The final-training recipe. Defaults are the paper's (batch 1000, up to 150
    epochs, patience 10, LR patience 5, max-norm 0.9, width x2, dropout 0.1 after
    pooling); the demo config shrinks them."""

    max_epochs: int = 150
    patience: int = 10
    batch_size: int = 1000
    lr: float = 1e-3
    lr_patience: int = 5
    lr_factor: float = 0.1
    # What ReduceLROnPlateau watches. Validation AUROC, the paper's convergence signal:
    # the loss often rises (overconfident errors) while AUROC still improves, and a
    # schedule on the loss then cuts the learning rate too early.
    lr_monitor: str = "valid_auroc"
    # Each training batch plus the reverse complement of its samples (same labels); the
    # saved model then averages both strands when it predicts (model.json records it).
    rc_augment: bool = False
    max_norm: float = 0.9
    width_multiplier: float = 2.0
    pool_dropout: float = 0.1
    epoch_samples: int | None = None
    valid_samples: int | None = None
    eval_batch_size: int = 1000
    seed: int = 1
    device: str = "auto"
    bf16: bool = True

    def __post_init__(self) -> None:
        positive = ("max_epochs", "patience", "batch_size", "lr_patience", "eval_batch_size")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("epoch_samples", "valid_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None (all), got {value}")
        if self.lr_monitor not in ("valid_auroc", "valid_loss"):
            raise ValueError(
                f"lr_monitor must be valid_auroc or valid_loss, got {self.lr_monitor!r}"
            )
        if not self.lr > 0 or not 0 < self.lr_factor < 1:
            raise ValueError(f"need lr > 0 and 0 < lr_factor < 1, got {self.lr}, {self.lr_factor}")
        if self.max_norm < 0 or self.width_multiplier <= 0 or not 0 <= self.pool_dropout < 1:
            raise ValueError(
                "need max_norm >= 0 (0 = off), width_multiplier > 0, 0 <= pool_dropout < 1"
            )
