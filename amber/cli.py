"""The ``amber`` command line: one subcommand per workflow step.

Every subcommand takes paths and values only (no Snakemake objects), writes its outputs
atomically, and reports errors as one line naming the file/key to fix (``--debug`` shows
the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from collections.abc import Sequence

from amber.allocator import keep_freed_memory

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
    "amber.interpret.commands",
)


GLOBAL_FLAGS = (
    ("--debug", "debug logging, and the traceback of an error"),
    ("--quiet", "only warnings and errors"),
)


def _add_global_flags(parser: argparse.ArgumentParser, default: object) -> None:
    for flag, help_text in GLOBAL_FLAGS:
        parser.add_argument(flag, action="store_true", default=default, help=help_text)


class _OneLinePerCommand(argparse.HelpFormatter):
    """Help wide enough that every command and its summary share one line."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=24, width=120)
        self._action_max_length = 22  # argparse measures subcommands 2 columns short


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amber",
        description="Automated design of deep CNNs for genomic sequences (AMBER).",
        epilog="`amber COMMAND --help` documents a command's inputs and outputs.",
        formatter_class=_OneLinePerCommand,
    )
    _add_global_flags(parser, default=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in STAGES:
        importlib.import_module(module).register(sub)
    # --debug/--quiet also after the command (`amber search --debug ...`). SUPPRESS keeps
    # a subcommand from resetting a flag given before the command.
    for command in sub.choices.values():
        _add_global_flags(command, default=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _log_to_stderr(logging.DEBUG if args.debug else logging.WARNING if args.quiet else logging.INFO)
    keep_freed_memory()
    # SLURM's scancel and time limits send SIGTERM: unwind like Ctrl-C, so that temporary
    # files are removed and the log says why the job ended.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        args.func(args)
    except _Terminated:
        print(f"amber {args.command}: stopped by SIGTERM (rerun to resume)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"amber {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one clear line unless --debug
        if args.debug:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        hint = "(--debug shows the traceback)"
        print(f"amber {args.command}: error: {message} {hint}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _log_to_stderr(level: int) -> None:
    """Send the ``amber`` loggers to the current stderr at ``level``, replacing what an
    earlier call set up (``logging.basicConfig`` acts only once per process, so a second
    command in one process kept the first one's level and stream)."""
    logger = logging.getLogger("amber")
    for handler in [h for h in logger.handlers if getattr(h, "amber_cli", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.amber_cli = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(level)


class _Terminated(BaseException):
    """Raised in the main thread by SIGTERM (a BaseException, like KeyboardInterrupt, so
    that ``except Exception`` blocks do not swallow it)."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


if __name__ == "__main__":
    sys.exit(main())
