"""``FILE_UMASK``: what an ingest writes (raw copy, lake, work area, log) is its user's only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from testsupport.ingest import SAMPLE, child_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _ingest_under_umask_022(tmp_path: Path, **env: str) -> list[Path]:
    """An ingest with the lake on, started as a shell with the usual umask (022) would; what it wrote."""
    written = tmp_path / "written"
    lake = {
        "LAKE_ENABLED": "true",
        "LAKE_URI": str(written / "lake"),
        "LAKE_CATALOG_NAME": f"m{uuid.uuid4().hex[:12]}",
        "INGEST_WORK_DIR": str(written / "work"),
        "LOG_FILE": str(written / "logs" / "app.jsonl"),
        "LOG_LEVEL": "info",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "ingest", "--path", str(SAMPLE), "--json"],
        cwd=ROOT,
        env=child_env(tmp_path) | lake | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert result.returncode == 0, result.stderr
    paths = [written, *written.rglob("*")]
    names = {path.name for path in paths}
    assert "app.jsonl" in names, sorted(names)
    assert any(name.endswith(".parquet") for name in names), sorted(names)
    assert any("raw" in path.parts and path.is_file() for path in paths), sorted(names)
    return paths


def test_everything_an_ingest_writes_is_readable_by_its_user_only(tmp_path: Path) -> None:
    paths = _ingest_under_umask_022(tmp_path)
    loose = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in paths}
    loose = {path: mode for path, mode in loose.items() if int(mode, 8) & 0o077}
    assert loose == {}


def test_file_umask_027_lets_the_group_read(tmp_path: Path) -> None:
    paths = _ingest_under_umask_022(tmp_path, FILE_UMASK="027")
    modes = [stat.S_IMODE(p.stat().st_mode) for p in paths]
    assert all(mode & 0o027 == 0 for mode in modes)
    assert any(mode & 0o040 for mode in modes)
