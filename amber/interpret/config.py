"""Settings of ``amber interpret``, apart from the stage's code: the CLI builds its flags
from them without importing torch, pandas or tangermeme (~1.4 s per command)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amber.interpret.discovery import ModiscoParams


@dataclass(frozen=True)
class InterpretConfig:
    """Settings of ``amber interpret`` (flags of the same names)."""

    n_shuffles: int = 6  # dinucleotide-shuffled references per sequence (DeepLIFT/SHAP)
    batch_size: int = 128  # sequence-reference pairs per forward/backward pass
    max_per_feature: int | None = 40  # positive windows attributed per TF feature (None: all)
    ism_sequences: int = 8  # pairs also scored by in-silico mutagenesis
    seed: int = 1
    q_threshold: float = 0.05  # TOMTOM q-value for a match
    modisco_window: int = 15  # modisco-lite sliding_window_size
    modisco_flank: int = 5  # modisco-lite flank_size
    modisco_min_seqlets: int = 50  # modisco-lite min_metacluster_size
    modisco_leiden_runs: int = 4  # modisco-lite n_leiden_runs
    modisco_min_cluster: int = 20  # modisco-lite final_min_cluster_size
    filter_activation: float = 0.5  # share of a filter's top activation that counts a site
    filter_min_sites: int = 10

    def modisco(self) -> ModiscoParams:
        from amber.interpret.discovery import ModiscoParams

        return ModiscoParams(
            sliding_window_size=self.modisco_window,
            flank_size=self.modisco_flank,
            min_metacluster_size=self.modisco_min_seqlets,
            n_leiden_runs=self.modisco_leiden_runs,
            final_min_cluster_size=self.modisco_min_cluster,
        )
