"""envs/amber.yaml (for `--sdm conda` users) lists the same packages as pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Installed separately with --no-deps (it pins an ancient torch): see scripts/install.sh.
NOT_IN_CONDA = {"selene-sdk"}


def _name(requirement: str) -> str:
    name = re.split(r"[\s<>=!~\[;@]", requirement.strip(), maxsplit=1)[0]
    return name.lower().replace("_", "-").replace(".", "-")


def _pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_name(dep) for dep in project["dependencies"]}


def _conda_names() -> set[str]:
    env = yaml.safe_load((ROOT / "envs" / "amber.yaml").read_text())
    names: set[str] = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {_name(d) for d in dep["pip"]}
        else:
            names.add(_name(dep))
    return names - {"python", "pip", "amber"}


def test_conda_env_lists_the_same_packages_as_pyproject() -> None:
    pyproject, conda = _pyproject_names(), _conda_names()
    assert pyproject - conda == set(), "in pyproject.toml but not envs/amber.yaml"
    assert conda - pyproject == set(), "in envs/amber.yaml but not pyproject.toml"
    assert not (NOT_IN_CONDA & conda)


def test_torch_is_pinned_identically() -> None:
    pins = re.findall(r"torch==([\d.]+)", (ROOT / "envs" / "amber.yaml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert pins == ["2.13.0"] and "torch==2.13.0" in project["dependencies"]
