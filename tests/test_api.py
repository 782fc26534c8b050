"""The Python API: the README's "Use from Python" snippet runs as written, the package
exports the core names lazily, and the in-memory loops match their file wrappers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_snippet() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Use from Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section should hold exactly one Python block"
    return blocks[0]


def test_readme_snippet_runs(monkeypatch, capsys) -> None:
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(readme_snippet(), "README.md:Use from Python", "exec"), namespace)
    result, state = namespace["result"], namespace["state"]
    assert len(result.arch.ops) == 6 and len(result.history) == 3
    # The planted motif is all there is to learn: the retrained child must find it.
    assert state.progress["best_auroc"] > 0.9, state.history
    assert capsys.readouterr().out.strip().endswith(str(round(state.progress["best_auroc"], 3)))


def _fresh_python(code: str) -> None:
    """Run ``code`` in a new interpreter (nothing imported yet) on this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)


def test_import_is_cheap_and_names_resolve() -> None:
    code = (
        "import sys, amber, amber.nas as nas\n"
        "assert 'torch' not in sys.modules, 'import amber pulled in torch'\n"
        "assert set(nas.__all__) <= set(dir(nas))\n"
        "for name in amber.__all__: getattr(amber, name)\n"
        "assert 'in memory' in nas.search.__doc__\n"
        "assert amber.search is nas.search and amber.fit.__module__ == 'amber.train.trainer'\n"
    )
    _fresh_python(code)
    import amber

    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        amber.nonesuch  # noqa: B018


def test_cli_parser_does_not_import_torch() -> None:
    """Every rule runs an amber command: building its parser (all subcommands) must not
    pay for torch, pandas or tangermeme (~1.4 s a command when the interpret stage's
    settings pulled them in)."""
    code = (
        "import sys\n"
        "from amber.cli import build_parser\n"
        "build_parser()\n"
        "heavy = {'torch', 'pandas', 'tangermeme'} & set(sys.modules)\n"
        "assert not heavy, f'the CLI parser imported {heavy}'\n"
    )
    _fresh_python(code)
