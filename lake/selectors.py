"""Reads from PostgreSQL, the source of truth the lake is published from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
from django.db import connection
from psycopg import sql
from pyiceberg.io.pyarrow import schema_to_pyarrow

from customers.models import Customer
from ingestion.models import QuarantinedRecord
from lake.tables import customer_columns, customers_schema

BATCH_ROWS = 50_000
"""Rows per Arrow batch read from the customers table (bounds the lake's memory)."""


def _customers_query(columns: list[str], keys: Sequence[str] | None) -> tuple[sql.Composable, list[Any]]:
    select = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier(Customer._meta.db_table)
    )
    if keys is None:
        # Date order: a streamed rebuild writes each month partition from few batches.
        return select + sql.SQL(" ORDER BY subscription_date, customer_id"), []
    return select + sql.SQL(" WHERE customer_id = ANY(%s) ORDER BY customer_id"), [list(keys)]


def customer_tables(*, keys: Sequence[str] | None = None, batch_size: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """The customers table (or the rows of ``keys``) as Arrow tables of ``batch_size`` rows.

    A server-side cursor: memory is bounded by the batch whatever the table's size.
    """
    schema = schema_to_pyarrow(customers_schema(), include_field_ids=False)
    columns = [name for name, _ in customer_columns()]
    query, params = _customers_query(columns, keys)
    with connection.chunked_cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection), params)
        while rows := cursor.fetchmany(batch_size):
            arrays = [
                pa.array([row[i] for row in rows], type=schema.field(i).type) for i in range(len(columns))
            ]
            yield pa.Table.from_arrays(arrays, schema=schema)


def quality_failures(*, run_id: int) -> list[tuple[str, int]]:
    """(rule code, failing records) of one run, most frequent first."""
    query = sql.SQL(
        "SELECT code, count(*) FROM {}, jsonb_array_elements_text(rule_codes::jsonb) AS code "
        "WHERE run_id = %s GROUP BY code ORDER BY count(*) DESC, code"
    ).format(sql.Identifier(QuarantinedRecord._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection), [run_id])
        return [(str(code), int(count)) for code, count in cursor.fetchall()]
