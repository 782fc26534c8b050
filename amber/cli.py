"""The ``amber`` command line: one subcommand per workflow step.

Every subcommand takes paths and values only (no Snakemake objects), writes its outputs
atomically, and reports errors as one line naming the file/key to fix (``--debug`` shows
the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

log = logging.getLogger("amber")

# Each stage package registers its own subcommands (`register(subparsers)`).
STAGES = (
    "amber.data.commands",
    "amber.nas.commands",
    "amber.train.commands",
    "amber.variants.commands",
    "amber.asb.commands",
    "amber.ldsc.commands",
    "amber.plots.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amber",
        description="Automated design of deep CNNs for genomic sequences (AMBER).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in STAGES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        args.func(args)
    except KeyboardInterrupt:
        print(f"amber {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one clear line unless --debug
        if args.debug:
            raise
        print(f"amber {args.command}: error: {exc}", file=sys.stderr)
        print("(rerun with --debug for the traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
