"""A kill -9 between the PostgreSQL commit and the lake write: the run says "lake pending", and the
next command touching the lake (any ingest, even a skipped one, or ``lake sync``) completes it."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from customers.models import Customer
from ingestion.models import IngestionRun, LakeStatus, RunStatus
from ingestion.pipeline import PAUSE_AFTER_COMMIT_ENV
from lake.config import lake_config
from lake.tests.support import curated_as_pg, pg_rows
from testsupport.ingest import child_env, write_customers

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _killed_after_commit(tmp_path: Path, settings: Any, path: Path) -> IngestionRun:
    """Run ``ingest --path`` in a child, SIGKILL it once its PostgreSQL commit is done."""
    marker = tmp_path / "committed"
    env = child_env(tmp_path) | {
        "LAKE_ENABLED": "true",
        "LAKE_URI": settings.LAKE_URI,
        "LAKE_CATALOG_NAME": settings.LAKE_CATALOG_NAME,
        PAUSE_AFTER_COMMIT_ENV: str(marker),
    }
    child = subprocess.Popen(
        [sys.executable, "manage.py", "ingest", "--path", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), f"the ingest never reached its commit: {child.communicate(timeout=30)}"
        child.kill()  # SIGKILL: no handler, no cleanup
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    run = IngestionRun.objects.get()
    assert (run.status, run.lake_status) == (RunStatus.SUCCEEDED, LakeStatus.PENDING)
    assert Customer.objects.count() == 30
    return run


def test_a_skipped_reingest_completes_the_lake_after_a_kill(lake_on: Any, tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    path = write_customers(tmp_path / "inbox" / "partner.csv", 30)
    killed = _killed_after_commit(tmp_path, lake_on, path)
    call_command("ingest", "--path", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    skipped = IngestionRun.objects.latest("id")
    assert skipped.status == RunStatus.SKIPPED
    killed.refresh_from_db()
    assert killed.lake_status == LakeStatus.REPAIRED
    assert curated_as_pg(lake_config()) == pg_rows()


def test_lake_sync_completes_a_pending_run(lake_on: Any, tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    path = write_customers(tmp_path / "inbox" / "partner.csv", 30)
    killed = _killed_after_commit(tmp_path, lake_on, path)
    out = io.StringIO()
    call_command("lake", "sync", stdout=out)
    killed.refresh_from_db()
    assert killed.lake_status == LakeStatus.REPAIRED
    assert f"runs repaired: {killed.pk}" in out.getvalue()
    assert curated_as_pg(lake_config()) == pg_rows()
