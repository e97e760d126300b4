"""The change log of curated customers (lake/changelog.py): appends, the read rule, compaction."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from lake.catalog import lake_catalog
from lake.changelog import (
    BASE,
    CHANGE_OP,
    CHANGE_RUN,
    CHANGE_SEQ,
    CHANGES,
    COUNTS,
    OP_DELETE,
    OP_INSERT,
    OP_UPDATE,
    REBUILT_SEQ,
    base_schema,
    by_country_sql,
    by_month_sql,
    changes_schema,
    counts_compact,
    counts_schema,
    customers_compact,
    customers_read,
    run_published,
)
from lake.config import LakeConfig
from lake.tables import RUN_ID, arrow_schema, conform, customers_spec, files_append, files_commit, identifier
from lake.tests import support as lake_support
from lake.tests.support import customer

lake = lake_support.lake
pytestmark = pytest.mark.django_db


def _tables(config: LakeConfig) -> tuple[Table, Table, Table]:
    catalog = lake_catalog(config)
    base = catalog.create_table(
        identifier(BASE), schema=base_schema(), partition_spec=customers_spec(base_schema())
    )
    changes = catalog.create_table(identifier(CHANGES), schema=changes_schema())
    counts = catalog.create_table(identifier(COUNTS), schema=counts_schema())
    return base, changes, counts


def _rows(table: Table, rows: list[dict[str, object]]) -> pa.Table:
    return conform(pa.Table.from_pylist(rows, schema=None), table)


def _version(key: str, seq: int, op: str = OP_UPDATE, run: int = 1, **fields: Any) -> dict[str, object]:
    return customer(key, **fields) | {
        "source_file": "f.csv",
        "ingested_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        CHANGE_SEQ: seq,
        CHANGE_OP: op,
        CHANGE_RUN: run,
    }


def _snapshot(table: Table) -> Snapshot:
    snapshot = table.current_snapshot()
    assert snapshot is not None
    return snapshot


def _props(snapshot: Snapshot) -> dict[str, str]:
    assert snapshot.summary is not None
    return dict(snapshot.summary.additional_properties)


def _current(base: Table, changes: Table, *, base_snapshot=None, changes_snapshot=None) -> dict[str, dict]:
    def scan(table: Table, snapshot: int | None) -> pa.Table:
        if table.current_snapshot() is None:
            return arrow_schema(table).empty_table()
        return table.scan(snapshot_id=snapshot).to_arrow()

    rows = customers_read(base=scan(base, base_snapshot), changes=scan(changes, changes_snapshot)).to_pylist()
    return {str(r["customer_id"]): r for r in rows}


def _base_write(base: Table, rows: list[dict[str, object]], *, seq: int) -> None:
    versions = [r | {CHANGE_SEQ: seq} for r in rows]
    files_commit(base, remove=[], add=_rows(base, versions), properties={REBUILT_SEQ: str(seq)})


def test_each_run_appends_one_snapshot_with_its_run_id_even_when_it_changed_nothing(lake) -> None:
    _, changes, _ = _tables(lake)
    files_append(changes, chunks=[_rows(changes, [_version("A1", 1)])], properties={RUN_ID: "7"})
    files_append(changes, chunks=[], properties={RUN_ID: "8"})

    runs = [_props(s)[RUN_ID] for s in changes.snapshots()]
    assert runs == ["7", "8"]
    assert run_published(changes, run_id=8)
    assert not run_published(changes, run_id=9)


def test_an_append_adds_one_manifest_and_rewrites_none(lake) -> None:
    _, changes, _ = _tables(lake)
    for run in range(3):
        files_append(
            changes, chunks=[_rows(changes, [_version(f"K{run}", run)])], properties={RUN_ID: str(run)}
        )
    before = {m.manifest_path for m in _snapshot(changes).manifests(changes.io)}
    files_append(changes, chunks=[_rows(changes, [_version("K9", 9)])], properties={RUN_ID: "9"})

    after = {m.manifest_path for m in _snapshot(changes).manifests(changes.io)}
    assert before < after
    assert len(after - before) == 1


def test_the_newest_version_of_each_customer_wins_and_a_delete_removes_it(lake) -> None:
    base, changes, _ = _tables(lake)
    _base_write(base, [customer("A1"), customer("B2"), customer("C3")], seq=10)
    files_append(
        changes,
        chunks=[
            _rows(
                changes,
                [
                    _version("A1", 11, city="Lyon"),
                    _version("A1", 14, city="Nice"),
                    _version("B2", 12, OP_DELETE),
                    _version("D4", 13, OP_INSERT),
                    _version("C3", 9, city="stale"),  # older than the base's version: loses
                ],
            )
        ],
        properties={RUN_ID: "1"},
    )

    current = _current(base, changes)
    assert sorted(current) == ["A1", "C3", "D4"]
    assert (current["A1"]["city"], current["C3"]["city"]) == ("Nice", "Paris")
    assert CHANGE_SEQ not in current["A1"]


def test_each_run_snapshot_reads_the_state_after_that_run(lake) -> None:
    base, changes, _ = _tables(lake)
    _base_write(base, [customer("A1", city="Paris")], seq=1)
    files_append(changes, chunks=[_rows(changes, [_version("A1", 2, city="Lyon")])], properties={RUN_ID: "1"})
    first = _snapshot(changes).snapshot_id
    files_append(changes, chunks=[_rows(changes, [_version("A1", 3, OP_DELETE)])], properties={RUN_ID: "2"})

    assert _current(base, changes, changes_snapshot=first)["A1"]["city"] == "Lyon"
    assert _current(base, changes) == {}


def _random_history(base: Table, changes: Table, seed: int) -> None:
    rng = random.Random(seed)
    days = [dt.date(2021, m, 1 + rng.randrange(27)) for m in range(1, 13)]
    _base_write(base, [customer(f"K{i:03d}", day=rng.choice(days)) for i in range(60)], seq=100)
    seq = 100
    for run in range(1, 6):
        versions = []
        for key in rng.sample([f"K{i:03d}" for i in range(80)], 15):
            seq += 1
            op = OP_DELETE if rng.random() < 0.2 else OP_UPDATE
            versions.append(_version(key, seq, op, run, day=rng.choice(days), city=f"City {seq}"))
        files_append(changes, chunks=[_rows(changes, versions)], properties={RUN_ID: str(run)})


def test_compaction_keeps_every_customer_and_empties_the_change_log(lake) -> None:
    base, changes, _ = _tables(lake)
    _random_history(base, changes, seed=3)
    expected = _current(base, changes)
    before = (_snapshot(base).snapshot_id, _snapshot(changes).snapshot_id)

    result = customers_compact(base, changes, properties={})

    assert result.changes_merged == 75
    assert changes.scan().to_arrow().num_rows == 0
    assert _current(base, changes) == expected
    assert _current(base, changes, base_snapshot=before[0], changes_snapshot=before[1]) == expected
    assert _props(_snapshot(base))[REBUILT_SEQ] == "100"


def test_compaction_rewrites_only_the_months_a_change_touches(lake) -> None:
    base, changes, _ = _tables(lake)
    _base_write(
        base, [customer("A1", day=dt.date(2021, 1, 5)), customer("B2", day=dt.date(2021, 6, 5))], seq=1
    )
    files_append(
        changes,
        chunks=[_rows(changes, [_version("A1", 2, city="Lyon", day=dt.date(2021, 1, 5))])],
        properties={},
    )
    june = {t.file.file_path for t in base.scan().plan_files() if t.file.partition[0] == 617}

    result = customers_compact(base, changes, properties={})

    assert result.partitions_rewritten == 1
    assert june <= {t.file.file_path for t in base.scan().plan_files()}


def test_datasets_are_sums_of_the_count_changes_and_compacting_them_keeps_them(lake) -> None:
    _, _, counts = _tables(lake)

    def deltas(rows: list[tuple[str, dt.date, int]], run: int) -> pa.Table:
        columns = ["country", "subscription_date", "customers"]
        frame = pa.Table.from_pylist([dict(zip(columns, r, strict=True)) | {CHANGE_RUN: run} for r in rows])
        return conform(frame, counts)

    jan5, feb5, feb7 = dt.date(2021, 1, 5), dt.date(2021, 2, 5), dt.date(2021, 2, 7)
    files_append(
        counts,
        chunks=[deltas([("France", jan5, 1), ("France", feb5, 1), ("Chile", feb7, 1)], 1)],
        properties={},
    )
    files_append(counts, chunks=[deltas([("Chile", feb7, -1), ("France", feb7, 1)], 2)], properties={})

    def views() -> tuple[list, list]:
        with duckdb.connect() as con:
            con.register("counts", counts.scan().to_arrow())
            return con.sql(by_country_sql(counts="counts")).fetchall(), con.sql(
                by_month_sql(counts="counts")
            ).fetchall()

    expected = (
        [("France", 3, jan5, feb7)],
        [(dt.date(2021, 1, 1), 1, 1), (dt.date(2021, 2, 1), 2, 3)],
    )
    assert views() == expected
    assert counts_compact(counts, properties={}) == 5
    assert counts_compact(counts, properties={}) == 0  # already one row per cell
    assert counts.scan().to_arrow().num_rows == 3
    assert views() == expected
