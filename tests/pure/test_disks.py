"""An instance's files are written under a temporary name and linked into place (agent/disks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from novalog.agent import disks


def test_write_once_leaves_a_whole_file_and_no_temporary(tmp_path: Path) -> None:
    dest = tmp_path / "a" / "b" / "snapshot.img"
    disks.write_once(str(dest), b"first")
    assert dest.read_bytes() == b"first"
    assert [p.name for p in dest.parent.iterdir()] == ["snapshot.img"]


def test_write_once_keeps_the_file_already_there(tmp_path: Path) -> None:
    dest = tmp_path / "snapshot.img"
    disks.write_once(str(dest), b"first")
    disks.write_once(str(dest), b"second")
    assert dest.read_bytes() == b"first"


def test_a_failure_midway_leaves_neither_the_file_nor_its_temporary(tmp_path: Path) -> None:
    dest = tmp_path / "disk.qcow2"
    with pytest.raises(RuntimeError), disks._into_place(dest) as temporary:
        Path(temporary).write_bytes(b"half")
        raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []


def test_a_file_made_meanwhile_by_another_call_is_kept(tmp_path: Path) -> None:
    dest = tmp_path / "disk.qcow2"
    with disks._into_place(dest) as temporary:
        Path(temporary).write_bytes(b"mine")
        dest.write_bytes(b"theirs")
    assert dest.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["disk.qcow2"]


def test_a_missing_snapshot_source_is_a_disk_error(tmp_path: Path) -> None:
    with pytest.raises(disks.DiskError, match="no disk"):
        disks.convert_disk(str(tmp_path / "absent.qcow2"), str(tmp_path / "out.qcow2"), "qcow2")
    with pytest.raises(disks.DiskError, match="cannot hold a snapshot"):
        disks.convert_disk(str(tmp_path / "absent.qcow2"), str(tmp_path / "out.img"), "ami")
