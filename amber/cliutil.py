"""Helpers shared by the per-stage `amber` subcommand modules."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path


def dataclass_flags(parser: argparse.ArgumentParser, cls: type, prefix: str = "") -> None:
    """One --flag per field of a config dataclass, typed from its default value."""
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING:  # nested configs get their own prefix
            continue
        default = f.default
        flag = f"--{prefix}{f.name.replace('_', '-')}"
        dest = f"{prefix.replace('-', '_')}{f.name}"
        if isinstance(default, bool):
            parser.add_argument(
                flag, dest=dest, action=argparse.BooleanOptionalAction, default=default
            )
        elif f.name == "valid_samples":
            parser.add_argument(
                flag, dest=dest, type=int, default=default, help=f"(default {default}; 0 = all)"
            )
        else:
            parser.add_argument(
                flag, dest=dest, type=type(default), default=default, help=f"(default {default})"
            )


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
