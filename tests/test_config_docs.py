"""config/README.md documents every config key: it is generated from the schemas; and
each schema default is the default of the settings dataclass it feeds."""

import runpy
from pathlib import Path

import pytest
import yaml

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


# (schema path, module, dataclass): the config section and the settings object its rule
# builds; every key both define must have one default.
SECTIONS = [
    (("train",), "amber.train.config", "TrainConfig"),
    (("search",), "amber.nas.config", "SearchConfig"),
    (("search", "controller"), "amber.nas.config", "ControllerConfig"),
    (("interpret",), "amber.interpret.config", "InterpretConfig"),
    (("data", "simulate"), "amber.data.simulate", "SimConfig"),
    (("asb",), "amber.asb.config", "CallRules"),
    (("asb", "simulate"), "amber.asb.config", "AsbSimConfig"),
]
# Workflow-level meanings the Python API has no use for: null = on for own data.
WORKFLOW_ONLY = {("train", "rc_augment")}


def _schema_properties(path: tuple[str, ...]) -> dict:
    schemas = ROOT / "workflow" / "schemas"
    node = yaml.safe_load((schemas / "config.schema.yaml").read_text())
    for part in path:
        node = node["properties"][part]
        if "$ref" in node:
            node = yaml.safe_load((schemas / node["$ref"]).read_text())
    return node["properties"]


@pytest.mark.parametrize(("path", "module", "name"), SECTIONS, ids=[c[2] for c in SECTIONS])
def test_schema_defaults_are_the_dataclass_defaults(path, module, name) -> None:
    import dataclasses
    import importlib

    settings = getattr(importlib.import_module(module), name)
    props = _schema_properties(path)
    shared = [f for f in dataclasses.fields(settings) if f.name in props]
    assert len(shared) >= 3, f"{name}: the section and the dataclass share almost no key"
    for field in shared:
        if field.default is dataclasses.MISSING or (path[0], field.name) in WORKFLOW_ONLY:
            continue  # nested settings (a dataclass) are checked as their own section
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        assert props[field.name].get("default") == default, (
            f"{'.'.join(path)}.{field.name}: schema default "
            f"{props[field.name].get('default')!r}, {name} default {default!r}"
        )
