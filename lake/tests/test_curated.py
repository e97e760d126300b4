"""curated.customers and the datasets after each run (lake/publish.py, lake/sync.py, lake/views.py)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from pyiceberg.table.snapshots import Operation

from customers.models import Customer
from ingestion.models import LakeStatus, QuarantinedRecord
from lake import lake_publish_run
from lake.catalog import lake_catalog
from lake.changelog import BASE, CHANGES
from lake.maintenance import lake_snapshots
from lake.publish import lake_tables, quality_publish
from lake.tables import customers_schema
from lake.tests import support as lake_support
from lake.tests.support import curated_as_pg, curated_rows, customer, load, make_run, pg_rows

lake = lake_support.lake
pytestmark = pytest.mark.django_db


def _snapshots(config, name="customers"):
    """The snapshots behind a curated table, oldest first (curated.customers: base and change log)."""
    return lake_snapshots(table_name=f"curated.{name}", config=config)


def test_a_run_adds_one_snapshot_carrying_its_run_id(lake) -> None:
    first = make_run()
    lake_publish_run(run=first, processed=load([customer("A1"), customer("B2")], run=first), config=lake)
    second = make_run()
    outcome = lake_publish_run(run=second, processed=load([customer("C3")], run=second), config=lake)

    snapshots = _snapshots(lake)
    assert [s["run_id"] for s in snapshots] == [first.pk, second.pk]
    assert snapshots[-1]["snapshot_id"] == outcome.snapshot_id
    second.refresh_from_db()
    assert second.lake_status == LakeStatus.SUCCEEDED


def test_first_publication_rebuilds_then_runs_append_their_changes(lake) -> None:
    first = make_run()
    one = lake_publish_run(run=first, processed=load([customer("A1")], run=first), config=lake)
    second = make_run()
    two = lake_publish_run(run=second, processed=load([customer("B2")], run=second), config=lake)
    assert (one.mode, two.mode) == ("rebuild", "changes")
    assert [(s["table"], s["operation"]) for s in _snapshots(lake)] == [
        (BASE, "rebuild"),
        (CHANGES, "changes"),
    ]


def test_curated_equals_customers_table_after_insert_update_and_quarantine(lake) -> None:
    first = make_run()
    lake_publish_run(
        run=first, processed=load([customer("A1"), customer("B2", country="Spain")], run=first), config=lake
    )
    second = make_run(rows_read=3, rows_quarantined=1)
    QuarantinedRecord.objects.create(
        run=second, line_number=3, rule_codes=["email.pattern"], messages=["bad"]
    )
    processed = load([customer("B2", country="Italy", day=dt.date(2022, 3, 1)), customer("C3")], run=second)
    lake_publish_run(run=second, processed=processed, config=lake)

    assert curated_as_pg(lake) == pg_rows()
    assert {r["customer_id"]: r["country"] for r in curated_rows(lake)} == {
        "A1": "France",
        "B2": "Italy",
        "C3": "France",
    }


def test_a_run_appends_only_what_it_changed_and_rewrites_no_file(lake) -> None:
    run = make_run()
    rows = [customer(f"K{i}", day=dt.date(2021, 1 + i % 12, 5)) for i in range(24)]
    lake_publish_run(run=run, processed=load(rows, run=run), config=lake)
    base_files = {t.file.file_path for t in lake_tables(lake_catalog(lake)).base.scan().plan_files()}
    second = make_run()
    changed = [customer("K1", city="Lyon", day=dt.date(2021, 2, 5))]
    lake_publish_run(run=second, processed=load(changed, run=second), config=lake)

    last = _snapshots(lake)[-1]
    assert (last["table"], last["added_records"], last["deleted_records"]) == (CHANGES, 1, 0)
    assert {t.file.file_path for t in lake_tables(lake_catalog(lake)).base.scan().plan_files()} == base_files
    assert curated_as_pg(lake) == pg_rows()


def test_an_edit_outside_ingest_reaches_the_lake_with_the_next_run(lake) -> None:
    run = make_run()
    lake_publish_run(run=run, processed=load([customer("A1"), customer("B2")], run=run), config=lake)
    Customer.objects.filter(customer_id="B2").delete()  # e.g. removed in the admin
    Customer.objects.filter(customer_id="A1").get().save()  # saved unchanged: an update all the same
    second = make_run()
    outcome = lake_publish_run(run=second, processed=load([customer("C3")], run=second), config=lake)

    assert outcome.mode == "changes"
    assert curated_as_pg(lake) == pg_rows()
    assert [r["customer_id"] for r in curated_rows(lake)] == ["A1", "C3"]


def test_time_travel_reads_the_earlier_state(lake) -> None:
    run = make_run()
    lake_publish_run(run=run, processed=load([customer("A1", city="Paris")], run=run), config=lake)
    before = _snapshots(lake)[-1]["snapshot_id"]
    second = make_run()
    lake_publish_run(run=second, processed=load([customer("A1", city="Lyon")], run=second), config=lake)

    assert [r["city"] for r in curated_rows(lake)] == ["Lyon"]
    assert [r["city"] for r in curated_rows(lake, snapshot_id=before)] == ["Paris"]


def test_a_new_model_column_is_added_without_rewriting_data(lake, monkeypatch) -> None:
    run = make_run()
    lake_publish_run(run=run, processed=load([customer("A1")], run=run), config=lake)
    tables = lake_tables(lake_catalog(lake))
    old = tables.base.current_snapshot()
    assert old is not None
    files = {t.file.file_path for t in tables.base.scan().plan_files()}
    from pyiceberg.types import StringType

    from lake import changelog

    columns = changelog.customer_columns()
    monkeypatch.setattr(changelog, "customer_columns", lambda: [*columns, ("loyalty_tier", StringType())])

    tables = lake_tables(lake_catalog(lake))

    assert "loyalty_tier" in tables.base.schema().column_names
    assert "loyalty_tier" in tables.changes.schema().column_names
    assert {t.file.file_path for t in tables.base.scan().plan_files()} == files
    assert "loyalty_tier" not in tables.base.scan(snapshot_id=old.snapshot_id).to_arrow().column_names


def test_business_datasets_follow_each_run(lake) -> None:
    run = make_run()
    rows = [
        customer("A1", country="France", day=dt.date(2021, 1, 5)),
        customer("B2", country="France", day=dt.date(2021, 2, 5)),
        customer("C3", country="Chile", day=dt.date(2021, 2, 7)),
    ]
    lake_publish_run(run=run, processed=load(rows, run=run), config=lake)
    second = make_run()
    lake_publish_run(
        run=second,
        processed=load([customer("C3", country="France", day=dt.date(2021, 2, 7))], run=second),
        config=lake,
    )

    by_country = curated_rows(lake, "customers_by_country")
    assert [(r["country"], r["customers"]) for r in by_country] == [("France", 3)]
    by_month = sorted(curated_rows(lake, "customers_by_month"), key=lambda r: str(r["subscription_month"]))
    assert [(r["subscription_month"], r["new_customers"], r["total_customers"]) for r in by_month] == [
        (dt.date(2021, 1, 1), 1, 1),
        (dt.date(2021, 2, 1), 2, 3),
    ]
    assert len(_snapshots(lake, "customers_by_country")) == 2


def test_data_quality_table_holds_each_runs_rule_failures(lake) -> None:
    run = make_run(rows_read=4, rows_quarantined=2)
    QuarantinedRecord.objects.create(
        run=run, line_number=2, rule_codes=["email.pattern", "country.required"], messages=[]
    )
    QuarantinedRecord.objects.create(run=run, line_number=3, rule_codes=["email.pattern"], messages=[])
    lake_publish_run(run=run, processed=load([customer("A1"), customer("B2")], run=run), config=lake)

    rows = curated_rows(lake, "data_quality")
    assert sorted((r["run_id"], r["rule"], r["failures"]) for r in rows) == [
        (run.pk, "country.required", 1),
        (run.pk, "email.pattern", 2),
    ]
    assert {r["rows_quarantined"] for r in rows} == {2}


def test_data_quality_rows_are_fast_appended_once_per_run(lake) -> None:
    """Each run adds one append snapshot that keeps the earlier runs' manifests as they are (none
    is read or rewritten: the cost stays flat however many runs came before); a retried run adds
    nothing."""
    runs = [make_run() for _ in range(3)]
    for number, run in enumerate(runs):
        lake_publish_run(run=run, processed=load([customer(f"A{number}")], run=run), config=lake)
    quality = lake_tables(lake_catalog(lake)).quality
    snapshots = quality.snapshots()
    assert [s.summary.operation if s.summary else None for s in snapshots] == [Operation.APPEND] * 3
    for before, after in itertools.pairwise(snapshots):
        kept = {m.manifest_path for m in before.manifests(quality.io)}
        assert kept < {m.manifest_path for m in after.manifests(quality.io)}

    quality_publish(quality, runs=[runs[0].pk], properties={})

    assert len(quality.refresh().snapshots()) == 3
    rows = curated_rows(lake, "data_quality")
    assert sorted(int(str(r["run_id"])) for r in rows) == [run.pk for run in runs]


def test_a_run_that_loads_no_record_still_adds_its_snapshot(lake) -> None:
    first = make_run()
    lake_publish_run(run=first, processed=load([customer("A1")], run=first), config=lake)
    empty = make_run(rows_read=1, rows_quarantined=1)
    outcome = lake_publish_run(run=empty, processed=None, config=lake)

    assert outcome.status == LakeStatus.SUCCEEDED
    snapshots = _snapshots(lake)
    assert [s["run_id"] for s in snapshots] == [first.pk, empty.pk]
    assert curated_as_pg(lake) == pg_rows()


def test_curated_customers_has_the_customers_table_columns_but_its_surrogate_key() -> None:
    columns = customers_schema().column_names
    fields = Customer._meta.concrete_fields
    assert columns == [f.column for f in fields if f.column != "id" and not f.generated]
    assert "search_text" not in columns  # derived from the others, not data
    assert customers_schema().find_field("customer_id").required
