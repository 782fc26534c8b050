"""Settings of the asb stage as plain dataclasses (no heavy imports: the CLI builds its
flags from them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AsbSimConfig:
    """Settings of :func:`simulate_asb` (targets are per TF; short pools give fewer).

    The workflow config sets the seed and the counts (``asb.simulate``); the rest are the
    simulator's model constants, flags of ``amber simulate-asb`` only."""

    seed: int = 1
    n_loss: int = 50
    n_gain: int = 50
    n_neutral: int = 120
    # Share of the losses drawn from sites the TF depends on (grammar), where there are some.
    indirect_share: float = 0.25
    # Share of the neutral SNVs drawn from motif positions with little effect.
    motif_neutral_share: float = 0.2
    # Score change (bits) from which an SNV is a true gain or loss.
    effect_bits: float = 1.0
    # Score loss (bits) that destroys a site another TF depends on.
    removal_bits: float = 2.0
    # Occupancy grows as 2^(beta * PWM score); expected ref share 1 / (1 + 2^(beta * delta)).
    beta: float = 1.0
    # Quantile of a TF's planted-site scores below which matches do not bind.
    floor_quantile: float = 0.05
    # Mean ChIP-seq reads over a variant (1 + negative binomial), and the negative binomial
    # size of the depth (smaller = more spread).
    mean_depth: float = 40.0
    depth_dispersion: float = 3.0
    # Cap of the expected ref (or alt) share (mapping noise).
    max_imbalance: float = 0.95

    def __post_init__(self) -> None:
        for name in ("n_loss", "n_gain", "n_neutral", "seed"):
            if getattr(self, name) < 0:
                raise ValueError(f"asb simulate: {name} must be >= 0")
        for name in ("indirect_share", "motif_neutral_share", "floor_quantile"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"asb simulate: {name} must lie in [0, 1]")
        for name in ("effect_bits", "removal_bits", "beta", "mean_depth", "depth_dispersion"):
            if getattr(self, name) <= 0:
                raise ValueError(f"asb simulate: {name} must be > 0")
        if not 0.5 < self.max_imbalance < 1.0:
            raise ValueError("asb simulate: max_imbalance must lie in (0.5, 1)")


@dataclass(frozen=True)
class CallRules:
    """Thresholds of the allelic-imbalance classes and of the per-TF filter."""

    min_reads: int = 10
    loss_ratio: float = 0.6
    gain_ratio: float = 0.4
    fdr_allelic: float = 0.01
    fdr_neutral: float = 0.9
    min_per_class: int = 20

    def __post_init__(self) -> None:
        if not 0.0 <= self.gain_ratio <= 0.5 <= self.loss_ratio <= 1.0:
            raise ValueError("need 0 <= gain_ratio <= 0.5 <= loss_ratio <= 1")
        if not 0.0 < self.fdr_allelic <= self.fdr_neutral <= 1.0:
            raise ValueError("need 0 < fdr_allelic <= fdr_neutral <= 1")
        if self.min_reads < 0 or self.min_per_class < 1:
            raise ValueError("min_reads must be >= 0 and min_per_class >= 1")
