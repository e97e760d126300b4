"""curated.customers and the datasets built each run (lake/curated.py, lake/sync.py)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from customers.models import Customer
from ingestion.models import LakeStatus, QuarantinedRecord
from lake import lake_publish_run
from lake.catalog import lake_catalog
from lake.curated import customers_upsert
from lake.tables import CUSTOMERS, OPERATION, RUN_ID, customers_schema, identifier, table_ensure
from lake.tests import support as lake_support
from lake.tests.support import curated_as_pg, curated_rows, customer, load, make_run, pg_rows

lake = lake_support.lake
pytestmark = pytest.mark.django_db


def _snapshots(config, name=CUSTOMERS):
    return lake_catalog(config).load_table(identifier(name)).snapshots()


def test_a_run_adds_one_snapshot_carrying_its_run_id(lake) -> None:
    first = make_run()
    lake_publish_run(run=first, processed=load([customer("A1"), customer("B2")], run=first), config=lake)
    second = make_run()
    outcome = lake_publish_run(run=second, processed=load([customer("C3")], run=second), config=lake)

    snapshots = _snapshots(lake)
    assert len(snapshots) == 2
    assert [s.summary.additional_properties[RUN_ID] for s in snapshots] == [str(first.pk), str(second.pk)]
    assert snapshots[-1].snapshot_id == outcome.snapshot_id
    second.refresh_from_db()
    assert second.lake_status == LakeStatus.SUCCEEDED


def test_first_publication_rebuilds_then_runs_upsert(lake) -> None:
    first = make_run()
    one = lake_publish_run(run=first, processed=load([customer("A1")], run=first), config=lake)
    second = make_run()
    two = lake_publish_run(run=second, processed=load([customer("B2")], run=second), config=lake)
    assert (one.mode, two.mode) == ("rebuild", "upsert")
    assert [s.summary.additional_properties[OPERATION] for s in _snapshots(lake)] == ["rebuild", "upsert"]


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


def test_upsert_rewrites_only_the_partitions_it_touches(lake) -> None:
    run = make_run()
    rows = [customer("A1", day=dt.date(2021, 1, 5)), customer("B2", day=dt.date(2021, 6, 5))]
    lake_publish_run(run=run, processed=load(rows, run=run), config=lake)
    second = make_run()
    lake_publish_run(
        run=second,
        processed=load([customer("A1", city="Lyon", day=dt.date(2021, 1, 5))], run=second),
        config=lake,
    )

    summary = _snapshots(lake)[-1].summary.additional_properties
    assert (summary["deleted-data-files"], summary["added-data-files"], summary["total-data-files"]) == (
        "1",
        "1",
        "2",
    )


def test_drifted_table_is_rebuilt_from_postgresql(lake) -> None:
    run = make_run()
    lake_publish_run(run=run, processed=load([customer("A1"), customer("B2")], run=run), config=lake)
    Customer.objects.filter(customer_id="B2").delete()  # e.g. removed in the admin
    second = make_run()
    outcome = lake_publish_run(run=second, processed=load([customer("C3")], run=second), config=lake)

    assert outcome.mode == "rebuild"
    assert curated_as_pg(lake) == pg_rows()


def test_time_travel_reads_the_earlier_state(lake) -> None:
    run = make_run()
    lake_publish_run(run=run, processed=load([customer("A1", city="Paris")], run=run), config=lake)
    before = _snapshots(lake)[-1].snapshot_id
    second = make_run()
    lake_publish_run(run=second, processed=load([customer("A1", city="Lyon")], run=second), config=lake)

    assert [r["city"] for r in curated_rows(lake)] == ["Lyon"]
    assert [r["city"] for r in curated_rows(lake, snapshot_id=before)] == ["Paris"]


def test_a_new_column_is_added_without_rewriting_data_and_old_snapshots_keep_their_schema(lake) -> None:
    run = make_run()
    rows = [customer("A1", day=dt.date(2021, 1, 5)), customer("B2", day=dt.date(2021, 6, 5))]
    lake_publish_run(run=run, processed=load(rows, run=run), config=lake)
    table = table_ensure(lake_catalog(lake), CUSTOMERS)
    old_snapshot = table.current_snapshot()
    assert old_snapshot is not None
    old_files = {t.file.file_path for t in table.scan().plan_files()}
    current = table.scan().to_arrow()
    new_row = current.filter(pa.compute.equal(current["customer_id"], "A1"))
    new_row = new_row.append_column("loyalty_tier", pa.array(["gold"]))

    customers_upsert(table, rows=new_row, keys=["A1"], expected_total=2, properties={RUN_ID: "99"})

    table.refresh()
    assert "loyalty_tier" in table.schema().column_names
    june_file_kept = old_files & {t.file.file_path for t in table.scan().plan_files()}
    assert len(june_file_kept) == 1  # the untouched partition's file was not rewritten
    assert "loyalty_tier" not in table.scan(snapshot_id=old_snapshot.snapshot_id).to_arrow().column_names
    assert {r["customer_id"]: r["loyalty_tier"] for r in table.scan().to_arrow().to_pylist()} == {
        "A1": "gold",
        "B2": None,
    }


def test_business_datasets_are_rebuilt_each_run(lake) -> None:
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


def test_a_run_that_loads_no_record_still_adds_its_snapshot(lake) -> None:
    first = make_run()
    lake_publish_run(run=first, processed=load([customer("A1")], run=first), config=lake)
    empty = make_run(rows_read=1, rows_quarantined=1)
    outcome = lake_publish_run(run=empty, processed=None, config=lake)

    assert outcome.status == LakeStatus.SUCCEEDED
    snapshots = _snapshots(lake)
    assert [s.summary.additional_properties[RUN_ID] for s in snapshots] == [str(first.pk), str(empty.pk)]
    assert curated_as_pg(lake) == pg_rows()


def test_curated_customers_has_the_customers_table_columns_but_its_surrogate_key() -> None:
    columns = customers_schema().column_names
    assert columns == [f.column for f in Customer._meta.concrete_fields if f.column != "id"]
    assert customers_schema().find_field("customer_id").required
