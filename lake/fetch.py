"""Rows of a PostgreSQL cursor as Arrow tables, fetched a few thousand at a time (issue #16)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

FETCH_ROWS = 2_000
"""Rows per fetch from a server-side cursor. Fetched rows are Python tuples, about ten times the
size of the same rows in Arrow: they are converted a few thousand at a time and gathered into
the tables the lake writes (a 1M-row rebuild peaked 100 MiB higher fetching 50,000 at once)."""


def rows_table(rows: Sequence[Sequence[Any]], schema: pa.Schema) -> pa.Table:
    """``rows`` (tuples in ``schema``'s column order) as one Arrow table."""
    arrays = [pa.array([row[i] for row in rows], type=schema.field(i).type) for i in range(len(schema))]
    return pa.Table.from_arrays(arrays, schema=schema)


def cursor_tables(cursor: Any, schema: pa.Schema, *, batch_size: int, fetch_size: int) -> Iterator[pa.Table]:
    """The rows left in ``cursor`` as Arrow tables of ``batch_size`` rows (the last one fewer), each
    one contiguous chunk, fetched ``fetch_size`` rows at a time: memory is bounded by the batch (in
    Arrow) and the fetch (in Python objects) whatever the result's size."""
    gathered: list[pa.Table] = []
    count = 0
    while rows := cursor.fetchmany(min(fetch_size, batch_size - count)):
        gathered.append(rows_table(rows, schema))
        count += len(rows)
        del rows
        if count == batch_size:
            yield pa.concat_tables(gathered).combine_chunks()
            gathered, count = [], 0
    if gathered:
        yield pa.concat_tables(gathered).combine_chunks()
