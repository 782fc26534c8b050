"""Atomic writes: a killed writer's temporaries are swept by the next writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from amber.fileio import atomic_path, scratch_dir, temp_beside


def test_next_write_removes_a_killed_writers_temporaries(tmp_path: Path) -> None:
    final = tmp_path / "model.pt"
    stale_file = tmp_path / ".model.pt.abc_1234.tmp"
    stale_dir = tmp_path / ".model.pt.def45678.tmp"
    stale_file.write_bytes(b"half")
    stale_dir.mkdir()
    (stale_dir / "part").write_text("x")
    other = tmp_path / ".model.pt.json.xyz12345.tmp"  # another output's temporary: kept
    other.write_text("y")
    with atomic_path(final) as tmp:
        tmp.write_text("whole")
    assert final.read_text() == "whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "model.pt"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    final = tmp_path / "x.tsv"
    with pytest.raises(RuntimeError), atomic_path(final) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_temporary_folder_beside_its_target(tmp_path: Path) -> None:
    tmp = temp_beside(tmp_path / "sub" / "annot", directory=True)
    assert tmp.is_dir() and tmp.parent == tmp_path / "sub"
    assert tmp.name.startswith(".annot.") and tmp.name.endswith(".tmp")


def test_scratch_folder_sweeps_a_killed_runs_and_removes_its_own(tmp_path: Path) -> None:
    stale = tmp_path / ".selene.k1ll3d00.tmp"  # what a SIGKILLed scoring run leaves
    (stale / "0").mkdir(parents=True)
    (stale / "0" / "chunk.vcf").write_text("x")
    with scratch_dir(tmp_path / "selene") as tmp:
        assert not stale.exists()
        (tmp / "chunk").write_text("y")
    with pytest.raises(RuntimeError), scratch_dir(tmp_path / "selene"):
        raise RuntimeError("failed")
    assert list(tmp_path.iterdir()) == []
