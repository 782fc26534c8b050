"""What a trained model learned: attributions (:mod:`.attributions`), motifs from them
and from first-layer filters (:mod:`.discovery`), TOMTOM matches against JASPAR
(:mod:`.matching`), scores against the simulated genome's planted motifs (:mod:`.truth`),
the per-model run (:mod:`.pipeline`), its files (:mod:`.outputs`) and the cross-model
figure (:mod:`.figure`). Library functions work on arrays and models in memory; only
:mod:`.outputs` and :mod:`.commands` touch files."""
