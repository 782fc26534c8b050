"""Print the configuration reference (config/README.md) from the workflow's schemas.

    .venv/bin/python scripts/config_docs.py > config/README.md

tests/test_config_docs.py checks that the committed file matches, so the documentation
of every config key cannot drift from the schema that validates it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "workflow" / "schemas"

HEADER = """# Configuration

`config/config.yaml` is the embedded default (simulated genome, laptop CPU, minutes).
`config/paper.yaml` is the full-scale paper run (DeepSEA data, GPU cluster).
`config/own_data.example.yaml` shows how to bring your own FASTA and peak BEDs.
A file given with `--configfile` is merged key by key over `config/config.yaml`, so a
config for another run only needs the keys it changes.
Every config is validated against `workflow/schemas/config.schema.yaml` (and the stage
schemas it references): an unknown key or a wrong type stops the run with a message
naming the key. This page is generated from those schemas by `scripts/config_docs.py`.
"""


def _default(spec: dict) -> str:
    if "default" not in spec:
        return "required" if spec.get("_required") else "—"
    value = spec["default"]
    if isinstance(value, dict) and not value:
        return "—"
    return f"`{json.dumps(value)}`"


def _rows(schema: dict, prefix: str, base: Path) -> list[str]:
    rows = []
    required = set(schema.get("required", []))
    for key, spec in schema.get("properties", {}).items():
        if "$ref" in spec:
            ref = yaml.safe_load((base / spec["$ref"]).read_text())
            rows += _rows(ref, f"{prefix}{key}.", base)
            continue
        spec = {**spec, "_required": key in required}
        if spec.get("type") == "object" and "properties" in spec:
            rows += _rows(spec, f"{prefix}{key}.", base)
            continue
        text = " ".join(str(spec.get("description", "")).split())
        if "enum" in spec:
            text = f"one of {', '.join(f'`{v}`' for v in spec['enum'])}. {text}".strip()
        rows.append(f"| `{prefix}{key}` | {_default(spec)} | {text} |")
    return rows


def render() -> str:
    schema = yaml.safe_load((SCHEMAS / "config.schema.yaml").read_text())
    lines = [HEADER, "| key | default | meaning |", "|---|---|---|"]
    lines += _rows(schema, "", SCHEMAS)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
