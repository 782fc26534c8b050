"""The Snakemake workflow itself: dry runs of every shipped config, lint, config
validation errors, and a real end-to-end run of the data stage on a tiny config."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
SHIPPED = ["config/config.yaml", "config/paper.yaml", "config/own_data.example.yaml"]


def snakemake(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(
        [*SNAKEMAKE, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("configfile", SHIPPED)
def test_dry_run_of_every_shipped_config(configfile: str) -> None:
    result = snakemake("-n", "--forceall", "--configfile", configfile)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "make_dataset" in result.stdout or "import_deepsea" in result.stdout


def test_lint_is_clean() -> None:
    result = snakemake("--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def _write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return str(path)


def test_config_typo_names_the_key(tmp_path: Path) -> None:
    cfg = _write_config(tmp_path, "run: typo\ndata:\n  source: simulate\n  bin_sise: 200\n")
    result = snakemake("-n", "--configfile", cfg)
    assert result.returncode != 0
    assert "bin_sise" in result.stdout + result.stderr


def test_config_wrong_type_names_the_key(tmp_path: Path) -> None:
    cfg = _write_config(tmp_path, "run: typo\ndata:\n  source: simulate\n  seq_len: long\n")
    result = snakemake("-n", "--configfile", cfg)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "seq_len" in out and "'long' is not of type 'integer'" in out


def test_config_bad_source_is_rejected(tmp_path: Path) -> None:
    cfg = _write_config(tmp_path, "run: typo\ndata:\n  source: ucsc\n")
    result = snakemake("-n", "--configfile", cfg)
    assert result.returncode != 0
    assert "'ucsc' is not one of" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def tiny_run() -> Path:
    out = ROOT / "results" / "test_tiny"
    shutil.rmtree(out, ignore_errors=True)
    target = "results/test_tiny/data/dataset.json"
    result = snakemake("--configfile", "tests/configs/tiny.yaml", "--cores", "2", target)
    assert result.returncode == 0, result.stdout + result.stderr
    yield out
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(ROOT / "logs" / "test_tiny", ignore_errors=True)


def test_data_stage_end_to_end(tiny_run: Path) -> None:
    summary = json.loads((tiny_run / "data" / "dataset.json").read_text())
    assert summary
    features = (tiny_run / "data" / "features.tsv").read_text().splitlines()
    n_features = len(features) - 1
    for split, chrom in [("train", b"chr1"), ("valid", b"chr2"), ("test", b"chr3")]:
        with h5py.File(tiny_run / "data" / f"{split}.h5") as h5:
            assert h5["x"].shape[1:] == (4, 400)
            assert h5["y"].shape == (h5["x"].shape[0], n_features)
            assert set(h5["chrom"][:]) == {chrom}
            assert h5["y"][:].any()
    assert (ROOT / "logs" / "test_tiny" / "make_dataset.log").exists()
