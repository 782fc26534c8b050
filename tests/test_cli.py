"""The `amber` command line: every command listed, global flags in either position,
errors as one line (traceback only with --debug)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from amber.cli import build_parser, main

AMBER = [str(Path(sys.executable).parent / "amber")]


def test_help_lists_every_command_on_one_line() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    lines = parser.format_help().splitlines()
    for name in commands:
        assert any(line.split()[:1] == [name] and len(line.split()) > 1 for line in lines), name


@pytest.mark.parametrize("argv", [["--debug", "sample-arch"], ["sample-arch", "--debug"]])
def test_debug_before_or_after_the_command(argv: list[str], tmp_path: Path) -> None:
    args = build_parser().parse_args([*argv, "--space", "x", "--seed", "1", "--out", "y"])
    assert args.debug and not args.quiet


def test_quiet_after_the_command_keeps_debug_off(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["sample-arch", "--quiet", "--space", "x", "--seed", "1", "--out", "y"]
    )
    assert args.quiet and not args.debug


def test_error_is_one_line_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    cmd = [*AMBER, "sample-arch", "--space", str(missing), "--seed", "1", "--out", "a.json"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0] and "--debug" in lines[0]
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(Exception, match="nope.yaml"):
        main(["sample-arch", "--debug", "--space", missing, "--seed", "1", "--out", "a.json"])


def _subcommands(parser, prefix: str = ""):
    """(name, parser) of every subcommand, nested ones as ``plot fig2a``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub
                yield from _subcommands(sub, f"{prefix}{name} ")


def test_one_figure_command() -> None:
    """Every figure is drawn by `amber plot <figure>` (PNG + PDF + JSON through one
    renderer), no other top-level command draws one."""
    names = [name for name, _ in _subcommands(build_parser())]
    top = [n for n in names if " " not in n]
    assert [n for n in top if "fig" in n or "plot" in n] == ["plot"]
    figures = {n.split(" ", 1)[1] for n in names if n.startswith("plot ")}
    assert {"fig2a", "fig3a", "fig3b", "fig4a", "fig5", "search-progress"} <= figures


def test_output_flags_follow_one_rule() -> None:
    """A folder output is ``--out-dir DIR`` (``--out`` still accepted as its old name), a
    file output (or ldsc-l2's prefix) is ``--out``: checked on every subcommand."""
    parser = build_parser()
    commands = dict(_subcommands(parser))
    folders, files = [], []
    for name, sub in commands.items():
        for action in sub._actions:
            if action.dest == "out_dir":
                assert action.option_strings[0] == "--out-dir" and action.metavar == "DIR", name
                folders.append(name)
            elif action.dest == "out":
                assert action.option_strings == ["--out"], name
                assert "folder" not in (action.help or ""), name
                files.append(name)
    assert {"search", "train", "simulate", "make-dataset", "score-variants"} <= set(folders)
    assert {"sample-arch", "evaluate", "ldsc-munge", "plot fig4a", "plot fig5"} <= set(files)
    args = parser.parse_args(
        ["search", "--space", "s", "--train", "t", "--valid", "v", "--out", "o"]
    )
    assert str(args.out_dir) == "o"  # the former spelling still works


def test_all_samples_is_spelled_all(capsys) -> None:
    """A sample count takes a number or ``all`` (no 0-means-all sentinel)."""
    parser = build_parser()
    base = {
        "search": ["search", "--space", "s", "--train", "t", "--valid", "v", "--out-dir", "o"],
        "train": ["train", "--arch", "a", "--train", "t", "--valid", "v", "--out-dir", "o"],
    }
    assert parser.parse_args([*base["search"], "--valid-samples", "all"]).valid_samples is None
    assert parser.parse_args([*base["search"], "--valid-samples", "64"]).valid_samples == 64
    args = parser.parse_args([*base["train"], "--epoch-samples", "all", "--valid-samples", "9"])
    assert args.epoch_samples is None and args.valid_samples == 9
    for bad in ("0", "-3", "many"):
        with pytest.raises(SystemExit):
            parser.parse_args([*base["train"], "--epoch-samples", bad])
        assert "a positive whole number or 'all'" in capsys.readouterr().err
