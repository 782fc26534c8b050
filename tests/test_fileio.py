"""Atomic writes: a killed writer's temporaries are swept by the next writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from amber.fileio import atomic_path, temp_beside


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
