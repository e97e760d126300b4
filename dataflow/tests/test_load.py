"""Load: staging across batches, deduplication in SQL, upsert counts, quarantine, advisory lock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from django.db import connection

from customers.models import Customer
from dataflow import load
from dataflow.columns import CODES_COLUMN, MESSAGES_COLUMN
from dataflow.readers import LINE_COLUMN, SetAside
from dataflow.schema import load_schema
from dataflow.upsert import ChangeSink, customers_diff_staged, customers_upsert_staged
from ingestion.models import IngestionRun, QuarantinedRecord

pytestmark = pytest.mark.django_db
SCHEMA = load_schema()
AT = datetime(2024, 5, 1, tzinfo=UTC)


def rows(*records: dict, start_line: int = 2) -> pl.DataFrame:
    base = {
        "index": 1,
        "customer_id": "K1",
        "first_name": "Ann",
        "last_name": "Lee",
        "company": "Acme",
        "city": "Oslo",
        "country": "Norway",
        "phone_1": "1",
        "phone_2": None,
        "email": "a@example.com",
        "subscription_date": date(2020, 1, 2),
        "website": None,
    }
    data = [base | r for r in records]
    frame = pl.DataFrame(
        data,
        schema={
            **dict.fromkeys(SCHEMA.field_names, pl.String),
            "index": pl.Int64,
            "subscription_date": pl.Date,
        },
    )
    return frame.with_columns(
        pl.Series(LINE_COLUMN, range(start_line, start_line + len(data)), dtype=pl.Int64)
    )


@pytest.fixture
def staging():
    load.staging_create(schema=SCHEMA)
    yield
    load.staging_drop()


def test_duplicates_across_batches_are_counted_and_last_occurrence_wins(staging: None) -> None:
    load.staging_copy(frame=rows({"customer_id": "K1"}, {"customer_id": "K2"}), schema=SCHEMA)
    load.staging_copy(
        frame=rows({"customer_id": "K1"}, {"customer_id": "K2", "city": "Bergen"}, start_line=4),
        schema=SCHEMA,
    )
    counts = load.staging_counts(schema=SCHEMA)
    assert (counts.staged, counts.exact_duplicates, counts.key_duplicates, counts.distinct_keys) == (
        4,
        1,
        1,
        2,
    )
    upsert = customers_upsert_staged(schema=SCHEMA, source_file="f.csv", ingested_at=AT, distinct_keys=2)
    assert (upsert.inserted, upsert.updated, upsert.unchanged) == (2, 0, 0)
    assert Customer.objects.get(customer_id="K2").city == "Bergen"


def test_a_key_quarantined_after_its_valid_records_is_superseded_not_loaded(staging: None) -> None:
    load.staging_copy(
        frame=rows({"customer_id": "K1"}, {"customer_id": "K2"}, {"customer_id": "K3"}), schema=SCHEMA
    )
    problems = pl.DataFrame(
        {
            LINE_COLUMN: [5, 6, 7],
            CODES_COLUMN: [["email.pattern"]] * 3,
            MESSAGES_COLUMN: [["email: bad"]] * 3,
            load.KEY_COLUMN: ["K1", None, "K9"],  # K1 after its valid record; no key; a key never staged
        }
    )
    raw = pl.DataFrame({"Email": ["x", "y", "z"], LINE_COLUMN: [5, 6, 7]})
    load.quarantine_copy(frame=load.quarantine_frame(problems=problems, raw=raw))
    counts = load.staging_counts(schema=SCHEMA)
    assert (counts.staged, counts.key_duplicates, counts.distinct_keys, counts.superseded) == (3, 1, 2, 1)
    assert load.staging_supersede(schema=SCHEMA) == 1
    upsert = customers_upsert_staged(schema=SCHEMA, source_file="f.csv", ingested_at=AT, distinct_keys=2)
    assert (upsert.inserted, upsert.updated, upsert.unchanged) == (2, 0, 0)
    assert sorted(Customer.objects.values_list("customer_id", flat=True)) == ["K2", "K3"]


def test_a_key_quarantined_before_its_valid_record_is_loaded(staging: None) -> None:
    load.staging_copy(frame=rows({"customer_id": "K1"}, start_line=4), schema=SCHEMA)
    problems = pl.DataFrame(
        {
            LINE_COLUMN: [3],
            CODES_COLUMN: [["email.pattern"]],
            MESSAGES_COLUMN: [["m"]],
            load.KEY_COLUMN: ["K1"],
        }
    )
    load.quarantine_copy(
        frame=load.quarantine_frame(problems=problems, raw=pl.DataFrame({"Email": ["x"], LINE_COLUMN: [3]}))
    )
    counts = load.staging_counts(schema=SCHEMA)
    assert (counts.staged, counts.duplicates, counts.distinct_keys, counts.superseded) == (1, 0, 1, 0)
    assert load.staging_supersede(schema=SCHEMA) == 0
    assert customers_diff_staged(schema=SCHEMA).inserted == 1


def test_upsert_updates_only_changed_rows(staging: None) -> None:
    load.staging_copy(frame=rows({"customer_id": "K1"}, {"customer_id": "K2"}), schema=SCHEMA)
    customers_upsert_staged(schema=SCHEMA, source_file="a.csv", ingested_at=AT, distinct_keys=2)
    load.staging_create(schema=SCHEMA)
    load.staging_copy(
        frame=rows(
            {"customer_id": "K1"}, {"customer_id": "K2", "email": "new@example.com"}, {"customer_id": "K3"}
        ),
        schema=SCHEMA,
    )
    later = datetime(2024, 6, 1, tzinfo=UTC)
    upsert = customers_upsert_staged(schema=SCHEMA, source_file="b.csv", ingested_at=later, distinct_keys=3)
    assert (upsert.inserted, upsert.updated, upsert.unchanged) == (1, 1, 1)
    unchanged = Customer.objects.get(customer_id="K1")
    assert (unchanged.source_file, unchanged.ingested_at) == ("a.csv", AT)
    assert Customer.objects.get(customer_id="K2").source_file == "b.csv"


def test_upsert_never_touches_unchanged_rows(staging: None) -> None:
    """An unchanged record is filtered out before ON CONFLICT, which would lock its row (xmax set)."""
    load.staging_copy(frame=rows({"customer_id": "K1"}, {"customer_id": "K2"}), schema=SCHEMA)
    customers_upsert_staged(schema=SCHEMA, source_file="a.csv", ingested_at=AT, distinct_keys=2)
    load.staging_create(schema=SCHEMA)
    load.staging_copy(
        frame=rows({"customer_id": "K1"}, {"customer_id": "K2", "city": "Bergen"}), schema=SCHEMA
    )
    upsert = customers_upsert_staged(schema=SCHEMA, source_file="b.csv", ingested_at=AT, distinct_keys=2)
    assert (upsert.inserted, upsert.updated, upsert.unchanged) == (0, 1, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmax::text FROM customers_customer WHERE customer_id = 'K1'")
        assert cursor.fetchone()[0] == "0"


def test_dry_run_diff_reports_without_writing(staging: None) -> None:
    load.staging_copy(frame=rows({"customer_id": "K1"}), schema=SCHEMA)
    diff = customers_diff_staged(schema=SCHEMA)
    assert (diff.inserted, diff.updated, diff.unchanged) == (1, 0, 0)
    assert not Customer.objects.exists()


def test_quarantine_keeps_raw_record_with_nul_shown(staging: None) -> None:
    raw = pl.DataFrame({"Company": ["A\x00B"], LINE_COLUMN: [7]})
    problems = pl.DataFrame(
        {LINE_COLUMN: [7], CODES_COLUMN: [["company.nul"]], MESSAGES_COLUMN: [["company: NUL"]]}
    )
    load.quarantine_copy(frame=load.quarantine_frame(problems=problems, raw=raw))
    load.quarantine_copy(
        frame=load.set_aside_frame([SetAside(line=9, text="a,b", code="row.field_count", message="m")])
    )
    run = IngestionRun.objects.create(source="local", filename="f.csv")
    assert load.quarantine_publish(run_id=run.id, table=QuarantinedRecord._meta.db_table) == 2
    first, second = QuarantinedRecord.objects.filter(run=run).order_by("line_number")
    assert (first.line_number, first.raw, first.rule_codes) == (7, {"Company": "A\u2400B"}, ["company.nul"])
    assert (second.line_number, second.raw_text, second.messages) == (9, "a,b", ["m"])


def test_staged_lines_are_corrected_after_reading(staging: None) -> None:
    from dataflow.readers import LineFix

    load.staging_copy(
        frame=rows({"customer_id": "K1"}, {"customer_id": "K2"}, {"customer_id": "K3"}), schema=SCHEMA
    )
    load.quarantine_copy(
        frame=load.set_aside_frame(
            [SetAside(line=None, text="x", code="row.field_count", message="m", seq=0)]
        )
    )
    load.staging_fix_lines(fix=LineFix(shifts=((3, 1),), set_aside_lines={0: 3}))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT customer_id, _line FROM {load.STAGE} ORDER BY _line")
        assert cursor.fetchall() == [("K1", 2), ("K2", 4), ("K3", 5)]
        cursor.execute(f"SELECT _line FROM {load.STAGE_QUARANTINE}")
        assert cursor.fetchall() == [(3,)]


def test_lock_is_held_for_the_checksum() -> None:
    sha = "ab" * 32
    assert load.lock_is_free(sha256=sha)
    with load.advisory_lock(sha256=sha), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        assert cursor.fetchone()[0] >= 1


def test_upsert_writes_each_row_it_changed_before_and_after_into_the_sink(staging: None) -> None:
    load.staging_copy(frame=rows({"customer_id": "K1"}, {"customer_id": "K2"}), schema=SCHEMA)
    customers_upsert_staged(schema=SCHEMA, source_file="a.csv", ingested_at=AT, distinct_keys=2)
    load.staging_create(schema=SCHEMA)
    load.staging_copy(
        frame=rows({"customer_id": "K1"}, {"customer_id": "K2", "city": "Bergen"}, {"customer_id": "K3"}),
        schema=SCHEMA,
    )
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE sink (run_id bigint, op text, before jsonb, after jsonb)")

    upsert = customers_upsert_staged(
        schema=SCHEMA,
        source_file="b.csv",
        ingested_at=AT,
        distinct_keys=3,
        changes=ChangeSink(table="sink", run_id=7),
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT run_id, op, before->>'city', after->>'customer_id', after->>'city' FROM sink ORDER BY 4"
        )
        captured = cursor.fetchall()
    assert (upsert.inserted, upsert.updated, upsert.unchanged) == (1, 1, 1)
    assert captured == [(7, "u", "Oslo", "K2", "Bergen"), (7, "i", None, "K3", "Oslo")]
    # The record's columns, not the generated search_text (derived, kept out of the lake's change log).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array(SELECT jsonb_object_keys(j)) FROM sink, LATERAL (VALUES (before), (after)) AS v(j)"
            " WHERE j IS NOT NULL"
        )
        keys = [set(row[0]) for row in cursor.fetchall()]
    assert keys == [{"id", *Customer.field_names()}] * 3
