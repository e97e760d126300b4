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
from lake import fetch
from lake.tables import customer_columns, customers_schema

BATCH_ROWS = 25_000
"""Rows per Arrow table handed to the lake's writer: bounds the lake's memory. pyiceberg writes the
month partitions of a table at once, each a copy, with a Parquet writer per thread (a 1M-row
rebuild peaked 36 MiB lower with 25,000 rows than with 50,000); fewer rows would mean more small
files (a streamed rebuild writes one file per month a table spans)."""


def _customers_query(columns: list[str], keys: Sequence[str] | None) -> tuple[sql.Composable, list[Any]]:
    select = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier(Customer._meta.db_table)
    )
    if keys is None:
        # Date order: a streamed rebuild writes each month partition from few batches.
        return select + sql.SQL(" ORDER BY subscription_date, customer_id"), []
    return select + sql.SQL(" WHERE customer_id = ANY(%s) ORDER BY customer_id"), [list(keys)]


def customer_tables(
    *, keys: Sequence[str] | None = None, batch_size: int | None = None, fetch_size: int | None = None
) -> Iterator[pa.Table]:
    """The customers table (or the rows of ``keys``) as Arrow tables of ``batch_size`` rows (the
    last one fewer; default :data:`BATCH_ROWS`), each one contiguous chunk.

    A server-side cursor read ``fetch_size`` rows at a time (default
    :data:`lake.fetch.FETCH_ROWS`): memory is bounded by the batch (in Arrow) and the fetch (in
    Python objects) whatever the table's size.
    """
    schema = schema_to_pyarrow(customers_schema(), include_field_ids=False)
    columns = [name for name, _ in customer_columns()]
    query, params = _customers_query(columns, keys)
    with connection.chunked_cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection), params)
        yield from fetch.cursor_tables(
            cursor, schema, batch_size=batch_size or BATCH_ROWS, fetch_size=fetch_size or fetch.FETCH_ROWS
        )


def quality_failures(*, run_id: int) -> list[tuple[str, int]]:
    """(rule code, failing records) of one run, most frequent first."""
    query = sql.SQL(
        "SELECT code, count(*) FROM {}, jsonb_array_elements_text(rule_codes::jsonb) AS code "
        "WHERE run_id = %s GROUP BY code ORDER BY count(*) DESC, code"
    ).format(sql.Identifier(QuarantinedRecord._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection), [run_id])
        return [(str(code), int(count)) for code, count in cursor.fetchall()]
