"""Fixtures shared by the worker's tests (``test_worker``, ``test_tasks``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testsupport.worker import procrastinate_truncate


@pytest.fixture
def worker_uploads(settings: Any, tmp_path: Path) -> Iterator[Any]:
    """Uploads spooled under ``tmp_path``, on empty queue tables (emptied again after the test)."""
    procrastinate_truncate()
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.INGEST_WORK_DIR = tmp_path / "work"
    yield settings
    procrastinate_truncate()
