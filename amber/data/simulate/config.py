"""Parameters of the simulated genome (:class:`SimConfig`) and their validation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from amber.data.motifs import JASPAR_RELEASE, parse_motif_specs
from amber.data.simulate.grammar import CELL_TYPES, DEFAULT_MOTIFS, EXPRESSION

# Elements stay clear of N gaps by more than the widest histone domain (bp). Here rather than in
# layout because the shortest valid chromosome depends on it.
N_MARGIN = 3000


@dataclass(frozen=True)
class SimConfig:
    """Parameters of :func:`simulate_genome`; identical configs give identical files.

    Attributes:
        seed: random seed; every random draw derives from it.
        n_chroms: number of chromosomes, named ``{chrom_prefix}1`` .. ``{chrom_prefix}N``.
        chrom_length: length of each chromosome in bp (N gaps included).
        chrom_prefix: chromosome name prefix.
        cell_types: cell types to simulate, a subset of :data:`CELL_TYPES`.
        motifs: ``TF=JASPAR_ID`` pairs (versioned IDs); the TF names must be those of
            :data:`EXPRESSION` (the grammar refers to them).
        jaspar_release: pyjaspar release the motif IDs are read from.
        gc_content: mean G+C fraction of the background (before repeats and CpG islands).
        gc_sd: standard deviation of the regional G+C fraction between blocks.
        gc_block: block length in bp over which the regional G+C fraction is constant.
        cpg_retention: share of background CpG dinucleotides kept (about the CpG o/e).
        cgi_gc: G+C fraction of CpG-island promoters.
        cgi_cpg_retention: share of CpG dinucleotides kept in CpG islands.
        telomere_gap: Ns at each chromosome end.
        internal_gap: length of the one internal N gap per chromosome.
        promoters_per_mb: promoters per Mb of non-N sequence.
        enhancers_per_mb: enhancers per Mb.
        insulators_per_mb: CTCF insulators per Mb.
        decoys_per_mb: decoy motif instances (closed background, never bound) per Mb.
        tandem_repeats_per_mb: simple tandem repeats (20-120 bp) per Mb.
        polya_per_mb: poly-A (or poly-T) runs (10-40 bp) per Mb.
        interspersed_per_mb: copies of the interspersed repeat family per Mb.
        interspersed_divergence: substitution rate of interspersed copies vs. consensus.
        motif_sharpness: exponent applied to PFM columns before sampling a site (1 samples
            the PFM as is; larger values give sites closer to the consensus).
    """

    seed: int = 1
    n_chroms: int = 3
    chrom_length: int = 1_000_000
    chrom_prefix: str = "chr"
    cell_types: tuple[str, ...] = CELL_TYPES
    motifs: tuple[str, ...] = DEFAULT_MOTIFS
    jaspar_release: str = JASPAR_RELEASE
    gc_content: float = 0.41
    gc_sd: float = 0.02
    gc_block: int = 100_000
    cpg_retention: float = 0.2
    cgi_gc: float = 0.64
    cgi_cpg_retention: float = 0.8
    telomere_gap: int = 5_000
    internal_gap: int = 10_000
    promoters_per_mb: float = 24.0
    enhancers_per_mb: float = 45.0
    insulators_per_mb: float = 20.0
    decoys_per_mb: float = 120.0
    tandem_repeats_per_mb: float = 120.0
    polya_per_mb: float = 150.0
    interspersed_per_mb: float = 40.0
    interspersed_divergence: float = 0.12
    motif_sharpness: float = 1.5

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> ValueError:
            return ValueError(f"SimConfig.{name}={getattr(self, name)!r}: {why}")

        if self.n_chroms < 1:
            raise bad("n_chroms", "must be at least 1")
        min_len = 2 * self.telomere_gap + self.internal_gap + 2 * N_MARGIN + 20_000
        if self.chrom_length < min_len:
            raise bad("chrom_length", f"must be at least {min_len} with these N gaps")
        if self.telomere_gap < 1 or self.internal_gap < 1:
            raise bad("telomere_gap" if self.telomere_gap < 1 else "internal_gap", "must be >= 1")
        unknown = [c for c in self.cell_types if c not in CELL_TYPES]
        if not self.cell_types or unknown or len(set(self.cell_types)) != len(self.cell_types):
            raise bad("cell_types", f"must be distinct names from {', '.join(CELL_TYPES)}")
        tfs = set(parse_motif_specs(self.motifs))
        if tfs != set(EXPRESSION):
            raise bad("motifs", f"must give one JASPAR ID for each of {', '.join(EXPRESSION)}")
        for name in (
            "gc_content",
            "cgi_gc",
            "cpg_retention",
            "cgi_cpg_retention",
            "interspersed_divergence",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise bad(name, "must lie in [0, 1]")
        if self.motif_sharpness <= 0:
            raise bad("motif_sharpness", "must be > 0")
        for f in dataclasses.fields(self):
            if f.name.endswith("_per_mb") and getattr(self, f.name) < 0:
                raise bad(f.name, "must be >= 0")
