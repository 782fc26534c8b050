"""Helpers shared by the per-stage `amber` subcommand modules."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from pathlib import Path

ALL = "all"


def count_or_all(text: str) -> int | None:
    """A flag value that is a positive count or ``all`` (None: every sample)."""
    if text.strip().lower() == ALL:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number or 'all', got {text!r}")
    return value


def _is_count_or_all(f: dataclasses.Field) -> bool:
    """A field typed ``int | None`` whose None means "all" (sample counts)."""
    return str(f.type).replace(" ", "") in ("int|None", "Optional[int]")


def dataclass_flags(
    parser: argparse.ArgumentParser,
    cls: type,
    prefix: str = "",
    helps: Mapping[str, str] | None = None,
) -> None:
    """One --flag per field of a config dataclass, typed from its default value; a field
    typed ``int | None`` takes a count or ``all``. ``helps``: field -> help text."""
    helps = helps or {}
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING:  # nested configs get their own prefix
            continue
        default = f.default
        flag = f"--{prefix}{f.name.replace('_', '-')}"
        dest = f"{prefix.replace('-', '_')}{f.name}"
        text = helps.get(f.name, "")
        if isinstance(default, bool):
            parser.add_argument(
                flag,
                dest=dest,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=text or None,
            )
            continue
        if _is_count_or_all(f):
            kind, shown = count_or_all, ALL if default is None else default
            text = f"{text} (default {shown}; a count or '{ALL}')"
        else:
            kind, text = type(default), f"{text} (default {default})"
        parser.add_argument(flag, dest=dest, type=kind, default=default, help=text.strip())


def from_flags(cls: type, args: argparse.Namespace, prefix: str = "", **extra: object):
    values = {
        f.name: getattr(args, f"{prefix}{f.name}")
        for f in dataclasses.fields(cls)
        if hasattr(args, f"{prefix}{f.name}")
    }
    return cls(**{**values, **extra})


def add_out_dir(parser: argparse.ArgumentParser, help: str = "output folder") -> None:
    """The one spelling of a folder output: ``--out-dir DIR`` (``args.out_dir``).

    ``--out`` is accepted too, the name these commands had before (a file output is
    always ``--out FILE``)."""
    parser.add_argument(
        "--out-dir", "--out", dest="out_dir", type=Path, required=True, metavar="DIR", help=help
    )
