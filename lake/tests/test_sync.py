"""Consistency with PostgreSQL: a failed lake step is recorded, then repaired (lake/sync.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from ingestion.models import LakeStatus
from lake import fetch as lake_fetch
from lake import lake_publish_run, lake_sync
from lake import selectors as lake_selectors
from lake.catalog import lake_catalog
from lake.changelog import CHANGE_SEQ
from lake.config import LakeConfig
from lake.curated import customers_rebuild
from lake.publish import lake_tables
from lake.selectors import customer_tables
from lake.sync import ERR_LAKE_STEP
from lake.tests import support as lake_support
from lake.tests.support import curated_as_pg, curated_rows, customer, load, make_run, pg_rows

lake = lake_support.lake
pytestmark = pytest.mark.django_db


def _broken(config: LakeConfig, tmp_path: Path) -> LakeConfig:
    """The same lake, unreachable: its root is a regular file (like a full disk or a dead mount)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    return dataclasses.replace(config, uri=str(blocker))


def test_a_lake_failure_after_the_commit_is_recorded_and_keeps_the_load(lake, tmp_path) -> None:
    run = make_run()
    outcome = lake_publish_run(
        run=run, processed=load([customer("A1")], run=run), config=_broken(lake, tmp_path)
    )

    run.refresh_from_db()
    assert outcome.status == run.lake_status == LakeStatus.FAILED
    assert run.lake_error.splitlines()[0] == outcome.error
    assert outcome.error.startswith(ERR_LAKE_STEP.format(run_id=run.pk, error=""))
    assert [r["customer_id"] for r in pg_rows()] == ["A1"]  # the PostgreSQL load stands


def test_the_next_run_repairs_a_failed_lake_step(lake, tmp_path) -> None:
    failed = make_run()
    lake_publish_run(
        run=failed,
        processed=load([customer("A1"), customer("B2")], run=failed),
        config=_broken(lake, tmp_path),
    )
    run = make_run()
    outcome = lake_publish_run(run=run, processed=load([customer("C3")], run=run), config=lake)

    failed.refresh_from_db()
    assert (outcome.mode, outcome.repaired_runs) == ("rebuild", [failed.pk])
    assert failed.lake_status == LakeStatus.REPAIRED
    assert curated_as_pg(lake) == pg_rows()
    assert {r["run_id"] for r in curated_rows(lake, "data_quality")} == {failed.pk, run.pk}


def test_lake_sync_rebuilds_from_postgresql_and_marks_failures_repaired(lake, tmp_path) -> None:
    good = make_run()
    lake_publish_run(run=good, processed=load([customer("A1")], run=good), config=lake)
    failed = make_run()
    lake_publish_run(
        run=failed,
        processed=load([customer("A1", city="Lyon"), customer("B2")], run=failed),
        config=_broken(lake, tmp_path),
    )
    assert curated_as_pg(lake) != pg_rows()

    outcome = lake_sync(config=lake)

    failed.refresh_from_db()
    assert outcome.repaired_runs == [failed.pk]
    assert failed.lake_status == LakeStatus.REPAIRED
    assert curated_as_pg(lake) == pg_rows()


def test_a_disabled_lake_is_recorded_and_writes_nothing(lake, settings) -> None:
    settings.LAKE_ENABLED = False
    run = make_run()
    outcome = lake_publish_run(run=run, processed=load([customer("A1")], run=run), config=lake)

    run.refresh_from_db()
    assert outcome.status == run.lake_status == LakeStatus.DISABLED
    assert not Path(lake.uri).exists()


def test_a_rebuild_streams_the_customers_table_in_batches(lake) -> None:
    run = make_run()
    rows = [customer(f"K{i}", day=dt.date(2021, 1 + i % 3, 1 + i)) for i in range(7)]
    load(rows, run=run)
    tables = lake_tables(lake_catalog(lake))
    chunks = (
        c.append_column(CHANGE_SEQ, pa.array([1] * c.num_rows, pa.int64()))
        for c in customer_tables(batch_size=2)
    )

    result = customers_rebuild(tables.base, rows=chunks, properties={})

    assert result.rows == 7
    assert curated_as_pg(lake) == pg_rows()


def test_customer_tables_gathers_small_fetches_into_whole_batches(lake) -> None:
    run = make_run()
    load([customer(f"K{i}", day=dt.date(2021, 1 + i % 3, 1 + i)) for i in range(7)], run=run)

    chunks = list(customer_tables(batch_size=3, fetch_size=2))

    assert [c.num_rows for c in chunks] == [3, 3, 1]
    assert all(column.num_chunks == 1 for c in chunks for column in c.columns)
    days = [d for c in chunks for d in c.column("subscription_date").to_pylist()]
    assert days == sorted(days)  # date order: a streamed rebuild writes each month from few batches
    keys = sorted(k for c in chunks for k in c.column("customer_id").to_pylist())
    assert keys == [f"K{i}" for i in range(7)]


def test_a_rebuild_writes_the_base_a_batch_at_a_time(lake, monkeypatch) -> None:
    """Each write of the rebuild gets at most ``BATCH_ROWS`` rows: no data file holds more."""
    monkeypatch.setattr(lake_selectors, "BATCH_ROWS", 3)
    monkeypatch.setattr(lake_fetch, "FETCH_ROWS", 2)
    run = make_run()
    load([customer(f"K{i}", day=dt.date(2021, 1 + i % 3, 1 + i)) for i in range(7)], run=run)

    lake_sync(config=lake)

    files = [task.file for task in lake_tables(lake_catalog(lake)).base.scan().plan_files()]
    assert sum(f.record_count for f in files) == 7
    assert max(f.record_count for f in files) <= 3
    assert len(files) > 3  # three months, several batches: a batch boundary splits a month
    assert curated_as_pg(lake) == pg_rows()
