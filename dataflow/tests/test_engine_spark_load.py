"""The Spark engine's per-run staging tables against PostgreSQL (no Spark session needed).

A killed Spark run leaves its UNLOGGED ``etl_spark_stage_run_<id>`` table
behind; the next ingest drops it, unless its run is still alive.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import sql
from structlog.testing import capture_logs

from dataflow.engines.spark.load import (
    SPARK_STAGE,
    executor_conninfo,
    spark_stage_create,
    spark_stages_drop_orphans,
)
from dataflow.load import advisory_key
from dataflow.schema import load_schema
from ingestion.models import IngestionRun, RunStatus
from ingestion.selectors import runs_running_among
from ingestion.services import run_start
from testsupport.ingest import SAMPLE, ingest

pytestmark = pytest.mark.django_db

DEAD_SHA = "cd" * 32
LIVE_SHA = "ef" * 32


def _tables(schema: str | None = None) -> set[str]:
    """Table names of ``schema`` (the current one by default)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = coalesce(%s, current_schema())", [schema]
        )
        return {name for (name,) in cursor.fetchall()}


def _stage_of(sha256: str) -> tuple[IngestionRun, str]:
    """A ``running`` run of ``sha256`` and its Spark staging table, as a Spark ingest leaves them."""
    run = run_start(source="local", filename="big.csv", sha256=sha256, size=1)
    return run, spark_stage_create(run_id=run.pk, schema=load_schema())


@contextmanager
def _lock_held_by_another_session(sha256: str) -> Iterator[None]:
    """The advisory lock a live ingest of ``sha256`` holds, from another database session."""
    with psycopg.connect(executor_conninfo(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [advisory_key(sha256)])
        yield


def test_next_ingest_drops_the_stage_table_of_a_dead_run(tmp_path: Path) -> None:
    dead, table = _stage_of(DEAD_SHA)
    ingest(tmp_path, SAMPLE)
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED
    assert table not in _tables()


def test_stage_table_of_a_run_still_running_elsewhere_is_kept(tmp_path: Path) -> None:
    live, table = _stage_of(LIVE_SHA)
    with _lock_held_by_another_session(LIVE_SHA):
        ingest(tmp_path, SAMPLE)
    live.refresh_from_db()
    assert live.status == RunStatus.RUNNING
    assert table in _tables()


def test_stage_table_of_a_run_that_no_longer_exists_is_dropped() -> None:
    dead, table = _stage_of(DEAD_SHA)
    dead.delete()
    assert spark_stages_drop_orphans(running=runs_running_among) == [table]
    assert table not in _tables()


def test_dropped_stage_tables_are_logged(tmp_path: Path) -> None:
    _dead, table = _stage_of(DEAD_SHA)
    with capture_logs() as logs:
        ingest(tmp_path, SAMPLE)
    assert {"event": "ingest.spark_stages_dropped", "log_level": "warning", "tables": [table]} in logs


def test_tables_not_named_like_a_run_stage_are_untouched(tmp_path: Path) -> None:
    dead = run_start(source="local", filename="old.csv", sha256=DEAD_SHA, size=1)
    # LIKE's "_" matches any character: only the exact name pattern counts.
    lookalikes = [
        SPARK_STAGE.format(run_id="x"),
        SPARK_STAGE.format(run_id=f"{dead.pk}_old"),
        SPARK_STAGE.format(run_id=dead.pk).replace("_", "x", 1),
        "customers_archive",
    ]
    elsewhere = SPARK_STAGE.format(run_id=dead.pk)  # a run's name, but not in this schema
    with connection.cursor() as cursor:
        for name in lookalikes:
            cursor.execute(sql.SQL("CREATE TABLE {} (a int)").format(sql.Identifier(name)))
        cursor.execute("CREATE SCHEMA archive")
        cursor.execute(sql.SQL("CREATE TABLE archive.{} (a int)").format(sql.Identifier(elsewhere)))
    ingest(tmp_path, SAMPLE)
    assert set(lookalikes) <= _tables()
    assert elsewhere in _tables("archive")
