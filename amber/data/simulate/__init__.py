"""A deterministic simulated genome with a regulatory grammar: the workflow's offline default data.

The genome is built chromosome by chromosome from a seed:

* **Background**: bases drawn with a regional ("isochore") G+C probability around
  :attr:`SimConfig.gc_content`, then most CpG dinucleotides are "deaminated" (CG -> TG or
  CA, as methylated CpGs decay in real genomes). That leaves the CpG depletion of a
  vertebrate genome (CpG observed/expected about 0.2-0.3) with fully vectorised numpy code.
* **N gaps**: a run of Ns at both chromosome ends (telomeres) and one internal gap.
* **Regulatory elements**: promoters, enhancers and insulators, each built from a grammar
  *template* (see :data:`TEMPLATES`) that places real JASPAR motifs (sampled from the PFM)
  with spacing rules. Housekeeping and neural promoters are CpG islands (GC- and CpG-rich).
* **Decoys**: single motif instances in closed background (motif present, no peak), so a
  model has to learn context, not just motifs.
* **Repeats**: simple tandem repeats, poly-A runs and copies of one interspersed repeat
  family, placed away from elements and decoys.

Cell-type grammar (see :func:`evaluate_element`):

* A TF binds an instance in a cell type when the element is open there, the TF is
  expressed there (:data:`EXPRESSION`) and, for cooperative TFs (:data:`COOPERATIVE`), a
  partner motif lies within :data:`PARTNER_MAX_GAP` bp (CEBPB binds in liver only next to
  FOXA1 or HNF4A). REST is expressed in non-neural cells only; CTCF and YY1 everywhere.
* Insulators (CTCF) and CpG-island promoters are open in every cell type; other elements
  are open where one of their motifs belongs to a lineage "opener" TF (:data:`OPENERS`).
* Promoters are active where open, not bound by REST and (housekeeping, or a lineage
  motif is bound); enhancers are active where at least two of their motifs are bound,
  otherwise only primed.

Features per cell type: DNase (open elements), one TF feature per expressed TF (bound
instances), H3K4me3 (active promoters), H3K27ac (active promoters and enhancers) and
H3K4me1 (open enhancers). Feature names are DeepSEA style ``cell|assay|None``.

Modules: :mod:`~amber.data.simulate.grammar` (the cell-type grammar and its templates),
:mod:`~amber.data.simulate.background` (background sequence, CpG islands, repeat family),
:mod:`~amber.data.simulate.layout` (placement on a chromosome, and its peaks),
:mod:`~amber.data.simulate.config` (:class:`SimConfig`) and
:mod:`~amber.data.simulate.genome` (:func:`simulate_genome` and its output files). The truth
tables it writes are read back with :mod:`amber.data.truth`; motif I/O and scoring live in
:mod:`amber.data.motifs`.
"""

from amber.data.simulate.background import gc_and_cpg
from amber.data.simulate.config import SimConfig
from amber.data.simulate.genome import simulate_genome
from amber.data.simulate.grammar import (
    CELL_TYPES,
    COOPERATIVE,
    DEFAULT_MOTIFS,
    EXPRESSION,
    HISTONE_MARKS,
    LINEAGE_TFS,
    OPENERS,
    PARTNER_MAX_GAP,
    REPRESSOR,
    SPACING,
    TEMPLATES,
    Template,
    edge_gap,
    evaluate_element,
    feature_table,
    template_motifs,
)
from amber.data.simulate.layout import Element, Instance, merge_intervals, sample_motif_site

__all__ = [
    "CELL_TYPES",
    "COOPERATIVE",
    "DEFAULT_MOTIFS",
    "EXPRESSION",
    "HISTONE_MARKS",
    "LINEAGE_TFS",
    "OPENERS",
    "PARTNER_MAX_GAP",
    "REPRESSOR",
    "SPACING",
    "TEMPLATES",
    "Element",
    "Instance",
    "SimConfig",
    "Template",
    "edge_gap",
    "evaluate_element",
    "feature_table",
    "gc_and_cpg",
    "merge_intervals",
    "sample_motif_site",
    "simulate_genome",
    "template_motifs",
]
