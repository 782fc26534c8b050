"""The lock file (constraints.txt), pyproject.toml and envs/amber.yaml (for `--sdm conda`
users) agree: every dependency is pinned, at a version its specifier allows, and the
conda environment installs exactly the lock's versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
# Installed separately with --no-deps (it pins an ancient torch): see scripts/install.sh.
NOT_IN_CONDA = {"selene-sdk"}


def _pins(lines: list[str], where: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lines:
        name, sep, version = line.partition("==")
        assert sep and re.fullmatch(r"[\w.!]+", version), f"{where}: not an exact pin: {line!r}"
        pins[canonicalize_name(name)] = version
    return pins


def _lock() -> dict[str, str]:
    text = (ROOT / "constraints.txt").read_text().splitlines()
    return _pins([x.strip() for x in text if x.strip() and not x.startswith("#")], "lock")


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [dep for deps in project["optional-dependencies"].values() for dep in deps]
    return [Requirement(dep) for dep in project["dependencies"] + extras]


def _conda_pip() -> list[str]:
    env = yaml.safe_load((ROOT / "envs" / "amber.yaml").read_text())
    assert [d for d in env["dependencies"] if not isinstance(d, dict)] == ["python=3.11", "pip"]
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    return [line for line in pip if not line.startswith("amber @")]


def test_lock_pins_every_dependency_at_an_allowed_version() -> None:
    lock = _lock()
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} is in pyproject.toml but not in constraints.txt"
        assert req.specifier.contains(lock[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={lock[name]}, outside pyproject's {req}"
        )
    assert lock["torch"] == "2.13.0" and lock["selene-sdk"] == "0.6.0"


def test_conda_env_installs_exactly_the_lock() -> None:
    conda, lock = _pins(_conda_pip(), "envs/amber.yaml"), _lock()
    for name in NOT_IN_CONDA:
        del lock[name]
    assert {k: v for k, v in conda.items() if lock.get(k) != v} == {}, "not as in the lock"
    assert sorted(set(lock) - set(conda)) == [], "in constraints.txt but not envs/amber.yaml"


def test_install_uses_the_lock() -> None:
    script = (ROOT / "scripts" / "install.sh").read_text()
    installs = [x for x in script.splitlines() if x.startswith('"${pip[@]}" install')]
    packages = [x for x in installs if "--upgrade pip" not in x]  # the installer itself
    assert len(packages) == 3
    assert all("torch==2.13.0" in x or "-c constraints.txt" in x for x in packages)
