"""Snapshots listing, compaction and snapshot expiry (lake/maintenance.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from lake import LakeError, lake_publish_run
from lake.catalog import lake_catalog
from lake.errors import ERR_NO_SUCH_TABLE
from lake.maintenance import lake_maintenance, lake_snapshots
from lake.tables import identifier
from lake.tests import support as lake_support
from lake.tests.support import curated_rows, customer, load, make_run
from lake.views import TABLES

lake = lake_support.lake
pytestmark = pytest.mark.django_db


def _runs(config, count: int) -> list[int]:
    ids = []
    for i in range(count):
        run = make_run()
        lake_publish_run(
            run=run, processed=load([customer(f"A{i}", day=dt.date(2021, 1, 1 + i))], run=run), config=config
        )
        ids.append(run.pk)
    return ids


def _files(config, name: str) -> int:
    table = lake_catalog(config).load_table(identifier(name))
    return len(list(table.scan().plan_files()))


def test_snapshots_are_listed_oldest_first_with_their_run_id(lake) -> None:
    run_ids = _runs(lake, 3)
    rows = lake_snapshots(table_name="curated.customers", config=lake)

    assert [r["run_id"] for r in rows] == run_ids
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    # The first publication builds the base; each later run appends its change to the log.
    assert [(r["table"], r["added_records"]) for r in rows] == [
        ("customers_base", 1),
        ("customers_changes", 1),
        ("customers_changes", 1),
    ]


def test_snapshots_of_an_unknown_table_is_a_clear_error(lake) -> None:
    with pytest.raises(LakeError) as error:
        lake_snapshots(table_name="curated.nope", config=lake)
    assert str(error.value) == ERR_NO_SUCH_TABLE.format(name="curated.nope", tables=", ".join(TABLES))


def test_maintenance_compacts_small_files_into_one(lake) -> None:
    _runs(lake, 4)  # data_quality gets one small file per run
    before = curated_rows(lake, "data_quality")
    assert _files(lake, "data_quality") == 4

    reports = {r.table: r for r in lake_maintenance(config=dataclasses.replace(lake, compact_min_files=3))}

    assert reports["curated.data_quality"].files_compacted == 4
    assert _files(lake, "data_quality") == 1
    assert curated_rows(lake, "data_quality") == before


def test_maintenance_expires_old_snapshots_but_keeps_the_newest_and_deletes_unused_files(lake) -> None:
    _runs(lake, 4)
    table = lake_catalog(lake).load_table(identifier("customers_changes"))
    change_files = {t.file.file_path for t in table.scan().plan_files()}
    current = curated_rows(lake)

    later = dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=30)
    reports = {r.table: r for r in lake_maintenance(config=dataclasses.replace(lake, keep_last=1), now=later)}

    # 3 appends and the merge's removal: the merged change files are used by no kept snapshot.
    assert reports["curated.customers_changes"].changes_merged == 0
    assert reports["curated.customers_base"].changes_merged == 3
    assert reports["curated.customers_changes"].snapshots_expired == 3
    assert len(change_files) == 3
    assert curated_rows(lake) == current
    assert not any(Path(p.removeprefix("file://")).exists() for p in change_files)


def test_maintenance_keeps_snapshots_within_the_retention(lake) -> None:
    _runs(lake, 3)
    reports = lake_maintenance(config=dataclasses.replace(lake, keep_last=1))
    assert sum(r.snapshots_expired for r in reports) == 0
