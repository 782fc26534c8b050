"""The NAS core, in memory: model spaces, architectures, the supernet and child
networks, the controller and the search loop.

    import amber.nas as nas
    space = nas.load_space("config/model_spaces/demo.yaml")
    result = nas.search(space, batches, (x_valid, y_valid), nas.SearchConfig(steps=5))
    model = nas.build_child(result.arch, space, seq_len, n_features)

Names are imported on first use, so ``import amber.nas`` stays cheap (no torch).
"""

from __future__ import annotations

from amber.exports import lazy_exports

# public name -> module that defines it
_EXPORTS = {
    "ModelSpace": "amber.nas.space",
    "load_space": "amber.nas.space",
    "Architecture": "amber.nas.arch",
    "sample_uniform": "amber.nas.arch",
    "Supernet": "amber.nas.supernet",
    "ChildNet": "amber.nas.child",
    "build_child": "amber.nas.child",
    "Controller": "amber.nas.controller",
    "ControllerConfig": "amber.nas.config",
    "SearchConfig": "amber.nas.config",
    "SearchResult": "amber.nas.loop",
    "SearchState": "amber.nas.loop",
    "search": "amber.nas.loop",
    "run_search": "amber.nas.loop",
    "evaluate_reward": "amber.nas.loop",
    "start_at_prior_": "amber.nas.ops",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
