"""The bulk load (dataflow/bulk.py): a new table filled, indexed once and swapped in, when the
customers table is empty; the upsert otherwise, with the reason in the run's report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from structlog.testing import capture_logs

from customers.models import Customer
from customers.selectors import customer_search
from dataflow.context import HookBase, StageContext
from ingestion.models import IngestionRun
from lake.hook import LakeHook
from lake.outbox import CHANGE_TABLE, OP_REBUILD
from testsupport.ingest import (
    HEADER,
    customer_lines,
    inbox_with,
    ingest,
    options_for,
    run_of,
    write_customers,
)

pytestmark = pytest.mark.django_db

TABLE = Customer._meta.db_table


@pytest.fixture(autouse=True)
def bulk_from_ten_rows(settings: Any) -> Any:
    settings.INGEST_BULK_MIN_ROWS = 10
    settings.LAKE_ENABLED = False
    return settings


def _query(query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return list(cursor.fetchall())


def catalog_of_customers() -> dict[str, Any]:
    """Everything of the table a swap must keep: indexes, constraints, statistics, sequence, targets."""
    oid = f"'{TABLE}'::regclass"
    return {
        "indexes": _query(
            f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename = '{TABLE}' ORDER BY 1"
        ),
        "constraints": _query(
            f"SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = {oid} ORDER BY 1"
        ),
        "statistics": _query(
            f"SELECT stxname, pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxrelid = {oid}"
        ),
        "targets": _query(
            "SELECT c.relname, a.attnum, a.attstattarget FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid"
            f" JOIN pg_index i ON i.indexrelid = c.oid WHERE i.indrelid = {oid} AND a.attstattarget >= 0"
        ),
        "column_targets": _query(
            f"SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = {oid} AND attstattarget >= 0"
        ),
        "generated": _query(
            "SELECT a.attname, a.attgenerated, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a"
            f" JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = {oid}"
            " AND a.attgenerated <> ''"
        ),
        "sequence": _query(f"SELECT pg_get_serial_sequence('{TABLE}', 'id')"),
        "identity": _query(f"SELECT attidentity FROM pg_attribute WHERE attrelid = {oid} AND attname = 'id'"),
        "leftovers": _query("SELECT relname FROM pg_class WHERE relname LIKE 'etl\\_bulk\\_%%'"),
    }


def rows_of_customers() -> list[tuple[Any, ...]]:
    fields = [f for f in Customer.field_names() if f != "ingested_at"]
    return list(Customer.objects.order_by("customer_id").values_list(*fields))


def messy_file(path: Path) -> Path:
    """Valid rows, a key repeated (the last wins), an exact duplicate, a record failing the rules."""
    lines = customer_lines(40, seed=3)
    lines += [
        lines[5],
        lines[7].replace("First8", "Changed8"),
        "41,,NoKey,Last,Co,City,Country,1,,x@y.z,2020-01-01,",
    ]
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def test_an_empty_table_is_replaced_by_a_new_one_with_the_same_indexes_and_names(tmp_path: Path) -> None:
    before = catalog_of_customers()
    result = ingest(tmp_path, write_customers(tmp_path / "c.csv", 50))
    run = run_of(result)
    assert run.report["load"] == {"path": "bulk", "reason": ""}
    assert {"bulk_fill", "bulk_index", "bulk_swap"} <= set(run.report["seconds"])
    assert (result.counts.inserted, result.counts.loaded) == (50, 50)
    assert Customer.objects.count() == 50
    assert catalog_of_customers() == before
    assert [name for name, *_ in before["generated"]] == ["search_text"]
    assert ("search_text", 1000) in before["column_targets"]
    # search_text computed by PostgreSQL on the COPY into the new table: the search finds rows.
    one = Customer.objects.order_by("id").first()
    assert one is not None
    found = customer_search(queryset=Customer.objects.all(), term=one.customer_id.upper())
    assert list(found.values_list("pk", flat=True)) == []  # customer_id is not searched
    found = customer_search(queryset=Customer.objects.all(), term=one.email.upper())
    assert one.pk in found.values_list("pk", flat=True)
    # The id sequence goes on after the loaded rows.
    newest = Customer.objects.order_by("-id").first()
    assert newest is not None
    extra = Customer.objects.create(
        **{f: getattr(newest, f) for f in Customer.field_names()} | {"customer_id": "X1"}
    )
    assert extra.id == newest.id + 1


def test_the_bulk_and_the_upsert_paths_load_the_same_rows(tmp_path: Path, settings: Any) -> None:
    path = messy_file(tmp_path / "messy.csv")
    bulk = run_of(ingest(tmp_path / "a", path))
    assert bulk.report["load"]["path"] == "bulk"
    loaded_by_bulk = rows_of_customers()
    Customer.objects.all().delete()
    settings.INGEST_BULK_MIN_ROWS = 10**9
    upsert = run_of(ingest(tmp_path / "b", path, force=True))
    assert upsert.report["load"] == {
        "path": "upsert",
        "reason": f"40 records, fewer than INGEST_BULK_MIN_ROWS ({10**9})",
    }
    assert rows_of_customers() == loaded_by_bulk
    counted = ("rows_inserted", "rows_duplicates", "rows_quarantined", "rows_loaded")
    assert [getattr(bulk, c) for c in counted] == [getattr(upsert, c) for c in counted]
    assert bulk.quarantined_records.count() == upsert.quarantined_records.count() == 1


def test_a_table_with_rows_takes_the_upsert_path(tmp_path: Path) -> None:
    ingest(tmp_path / "a", write_customers(tmp_path / "first.csv", 20))
    second = tmp_path / "second.csv"
    second.write_text("\n".join([HEADER, *customer_lines(20, seed=9, start=100)]) + "\n")
    with capture_logs() as logs:
        run = run_of(ingest(tmp_path / "b", second))
    assert run.report["load"] == {"path": "upsert", "reason": "the table is not empty"}
    assert Customer.objects.count() == 40
    assert {"event": "ingest.bulk_fallback", "reason": "the table is not empty"}.items() <= next(
        log for log in logs if log["event"] == "ingest.bulk_fallback"
    ).items()


def test_a_dry_run_never_swaps(tmp_path: Path) -> None:
    result = ingest(tmp_path, write_customers(tmp_path / "c.csv", 20), dry_run=True)
    assert result.counts.inserted == 20
    assert "load" not in run_of(result).report
    assert not Customer.objects.exists()


FALLBACKS = {
    "foreign keys reference it": f"CREATE TABLE t_ref (c bigint REFERENCES {TABLE} (id))",
    "views read it": f"CREATE VIEW t_view AS SELECT customer_id FROM {TABLE}",
    "triggers fire on it": (
        "CREATE FUNCTION t_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;"
        f" CREATE TRIGGER t_trigger BEFORE INSERT ON {TABLE} FOR EACH ROW EXECUTE FUNCTION t_noop()"
    ),
    "row-level security is on": f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY",
    "publications include it": f"CREATE PUBLICATION t_publication FOR TABLE {TABLE}",
    "privileges are granted on it": f"GRANT SELECT ON {TABLE} TO PUBLIC",
    "other objects depend on it": (
        "CREATE FUNCTION t_count() RETURNS bigint LANGUAGE sql"
        f" BEGIN ATOMIC SELECT count(*) FROM {TABLE}; END"
    ),
}


@pytest.mark.parametrize("reason", list(FALLBACKS))
def test_what_a_swap_would_break_sends_the_load_down_the_upsert_path(tmp_path: Path, reason: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(FALLBACKS[reason])
    run = run_of(ingest(tmp_path, write_customers(tmp_path / "c.csv", 20)))
    assert run.report["load"]["path"] == "upsert"
    assert run.report["load"]["reason"].startswith(f"{reason} ("), run.report["load"]
    assert Customer.objects.count() == 20


class SinkHook(HookBase):
    """Takes the load's changes row by row (into the lake's outbox table)."""

    def changes_sink(self, ctx: StageContext) -> str | None:
        return CHANGE_TABLE


def test_a_hook_taking_the_changes_row_by_row_keeps_the_upsert_path(tmp_path: Path) -> None:
    path = write_customers(tmp_path / "c.csv", 20)
    result = ingest_with_hooks(tmp_path, path, [SinkHook()])
    run = run_of(result)
    assert run.report["load"] == {
        "path": "upsert",
        "reason": f"a hook takes the load's changes row by row ({CHANGE_TABLE})",
    }
    assert _query(f"SELECT count(*) FROM {CHANGE_TABLE} WHERE run_id = %s", [run.pk]) == [(20,)]


class QuietLakeHook(LakeHook):
    """The lake's hook without its raw copy and its lake step (the outbox is what is checked)."""

    def after_fetch(self, ctx: StageContext) -> None:
        pass

    def after_commit(self, ctx: StageContext) -> None:
        pass


def test_with_the_lake_on_a_bulk_load_asks_the_lake_for_a_rebuild(tmp_path: Path, settings: Any) -> None:
    settings.LAKE_ENABLED = True
    run = run_of(ingest_with_hooks(tmp_path, write_customers(tmp_path / "c.csv", 20), [QuietLakeHook()]))
    assert run.report["load"]["path"] == "bulk"
    assert _query(f"SELECT op FROM {CHANGE_TABLE} WHERE run_id = %s", [run.pk]) == [(OP_REBUILD,)]
    assert IngestionRun.objects.get(pk=run.pk).lake_status == "pending"


def ingest_with_hooks(tmp_path: Path, path: Path, hooks: list[Any]) -> Any:
    from ingestion.pipeline import ingest_file

    source = inbox_with(tmp_path, path)
    return ingest_file(source=source, name=path.name, options=options_for(tmp_path), hooks=hooks)
