"""config/README.md documents every config key: it is generated from the schemas."""

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_config_readme_is_generated_from_the_schemas() -> None:
    render = runpy.run_path(str(ROOT / "scripts" / "config_docs.py"))["render"]
    expected = render()
    actual = (ROOT / "config" / "README.md").read_text()
    assert actual == expected, "run: .venv/bin/python scripts/config_docs.py > config/README.md"
    for key in ("`run`", "`data.seq_len`", "`search.controller.skip_target`", "`train.max_epochs`"):
        assert key in actual


def test_every_config_key_has_a_description() -> None:
    render = runpy.run_path(str(ROOT / "scripts" / "config_docs.py"))["render"]
    undocumented = [
        row for row in render().splitlines() if row.startswith("| `") and row.endswith("|  |")
    ]
    assert not undocumented, undocumented
