"""AMBER: automated design of deep CNNs for genomic sequences.

The public Python API (the workflow and the ``amber`` command are built on it)::

    import amber
    space = amber.load_space("config/model_spaces/demo.yaml")
    result = amber.search(space, batches, (x_valid, y_valid), amber.SearchConfig())
    model = amber.build_child(result.arch, space, seq_len, n_features)
    state = amber.fit(model, batches, (x_valid, y_valid), amber.TrainConfig())

Names are imported on first use, so ``import amber`` stays cheap (no torch).
"""

from __future__ import annotations

from amber.exports import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    **{
        name: "amber.nas"
        for name in (
            "ModelSpace",
            "load_space",
            "Architecture",
            "sample_uniform",
            "Supernet",
            "ChildNet",
            "build_child",
            "Controller",
            "ControllerConfig",
            "SearchConfig",
            "SearchResult",
            "search",
            "run_search",
            "start_at_prior_",
        )
    },
    "TrainConfig": "amber.train.config",
    "FitState": "amber.train.trainer",
    "fit": "amber.train.trainer",
    "train_model": "amber.train.trainer",
    "load_model": "amber.train.model_io",
    "mean_auroc": "amber.metrics",
    "evaluate_predictions": "amber.train.evaluate",
    "score_variants": "amber.variants.score",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
