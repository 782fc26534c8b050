"""Model names: ``searched_<i>``, ``sampled_<i>``, ``baseline_<name>``, and their groups."""

from __future__ import annotations

GROUPS = ("searched", "sampled", "baseline")


class ModelNameError(ValueError):
    """A model name that does not start with a group and ``_``."""


def model_group(name: str, *, strict: bool = True) -> str:
    """``searched_3`` -> ``searched``; ``baseline_cnn3`` -> ``baseline``. Another name
    raises :class:`ModelNameError`, or gives ``other`` with ``strict=False``."""
    group = name.split("_", 1)[0]
    if group in GROUPS and "_" in name:
        return group
    if not strict:
        return "other"
    raise ModelNameError(
        f"model name {name!r} should start with one of {', '.join(g + '_' for g in GROUPS)}"
    )
