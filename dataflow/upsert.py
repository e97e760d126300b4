"""The upsert of the staged records into the customers table, and its dry-run diff.

Only the records that are new or differ from their customer reach ``INSERT ... ON CONFLICT``
(:func:`customers_upsert_staged`); the same comparison counts what a dry run would do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from psycopg import sql

from customers.models import Customer
from dataflow.load import UpsertCounts, fields_sql, staged_latest_sql
from dataflow.schema import Schema


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def _compared(schema: Schema) -> list[str]:
    return [name for name in schema.field_names if name != schema.key]


def _row(schema: Schema, alias: str) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(alias + ".") + _ident(n) for n in _compared(schema))


def _changed_sql(schema: Schema) -> sql.Composable:
    """The records of ``latest`` that are new (``_new``) or differ from their customer: an unchanged
    one never reaches ``ON CONFLICT``, where it costs an index probe and a row lock (heap write, WAL)."""
    return sql.SQL(
        "SELECT l.*, c.{key} IS NULL AS _new FROM latest l LEFT JOIN {table} c ON c.{key} = l.{key}"
        " WHERE c.{key} IS NULL OR ({old}) IS DISTINCT FROM ({new})"
    ).format(
        table=_ident(Customer._meta.db_table),
        key=_ident(schema.key),
        old=_row(schema, "c"),
        new=_row(schema, "l"),
    )


@dataclass(frozen=True)
class ChangeSink:
    """Where the upsert writes each row it changed: a table with columns ``run_id``, ``op``
    (``i``/``u``), ``before`` and ``after`` (the row as JSON; no ``before`` for an insert)."""

    table: str
    run_id: int


def _captured(sink: ChangeSink | None) -> sql.Composable:
    if sink is None:
        return sql.SQL("")
    return sql.SQL(
        ", captured AS (INSERT INTO {} (run_id, op, before, after)"
        " SELECT %(sink_run)s, CASE WHEN inserted THEN 'i' ELSE 'u' END,"
        " CASE WHEN inserted THEN NULL ELSE before END, after FROM upserted)"
    ).format(_ident(sink.table))


def customers_upsert_staged(
    *,
    schema: Schema,
    source_file: str,
    ingested_at: datetime,
    distinct_keys: int,
    changes: ChangeSink | None = None,
) -> UpsertCounts:
    """Insert new keys, update keys whose data changed, leave the rest untouched.

    Must run inside the publishing transaction. ``distinct_keys`` comes from :func:`staging_counts`.
    With ``changes``, every row inserted or updated is also written there, before and after
    (PostgreSQL 18's ``RETURNING old``/``new``), in the same statement.
    """
    table, _json = Customer._meta.db_table, Customer.row_json_sql  # JSON without generated columns
    targets = [*schema.field_names, "source_file", "ingested_at"]
    statement = sql.SQL(
        "WITH latest AS ({latest}), changed AS ({changed}), upserted AS ("
        " INSERT INTO {table} AS c ({targets}) SELECT {fields}, %(source_file)s, %(ingested_at)s FROM changed"
        " ON CONFLICT ({key}) DO UPDATE SET {updates}"
        " WHERE ({old}) IS DISTINCT FROM ({new})"
        " RETURNING (xmax = 0) AS inserted{rows})"
        "{captured}"
        " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted"
    ).format(
        rows=sql.SQL(f", {_json('old')} AS before, {_json('new')} AS after" if changes else ""),
        captured=_captured(changes),
        latest=staged_latest_sql(schema),
        changed=_changed_sql(schema),
        table=_ident(table),
        targets=sql.SQL(", ").join(_ident(t) for t in targets),
        fields=fields_sql(schema),
        key=_ident(schema.key),
        updates=sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(_ident(t)) for t in targets if t != schema.key
        ),
        old=_row(schema, "c"),
        new=_row(schema, "EXCLUDED"),
    )
    with connection.cursor() as cursor:
        params: dict[str, Any] = {"source_file": source_file, "ingested_at": ingested_at}
        if changes is not None:
            params["sink_run"] = changes.run_id
        cursor.execute(statement, params)
        inserted, updated = cursor.fetchone()
    return UpsertCounts(inserted=inserted, updated=updated, unchanged=distinct_keys - inserted - updated)


def customers_diff_staged(*, schema: Schema) -> UpsertCounts:
    """What :func:`customers_upsert_staged` would do, without writing (``--dry-run``)."""
    statement = sql.SQL(
        "WITH latest AS ({latest}), changed AS ({changed}) SELECT count(*) FILTER (WHERE _new),"
        " count(*) FILTER (WHERE NOT _new), (SELECT count(*) FROM latest) FROM changed"
    ).format(latest=staged_latest_sql(schema), changed=_changed_sql(schema))
    with connection.cursor() as cursor:
        cursor.execute(statement)
        inserted, updated, total = cursor.fetchone()
    return UpsertCounts(inserted=inserted, updated=updated, unchanged=total - inserted - updated)
