"""Executor side of the Spark load: COPY one partition into PostgreSQL (psycopg + pyarrow only).

Nothing here imports Django or the project: the module is shipped to the
executors by value (cloudpickle), so a cluster needs only psycopg and pyarrow.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql


def copy_partition(
    batches: Iterator[pa.RecordBatch], *, conninfo: str, table: str
) -> Iterator[pa.RecordBatch]:
    """Executor side: COPY one partition's Arrow batches as CSV; yield the row count."""
    import psycopg

    rows = 0
    # One transaction per partition: a failed task leaves nothing; its retry copies again.
    with psycopg.connect(conninfo) as conn:
        columns: list[str] | None = None
        with conn.cursor() as cursor:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                columns = columns or batch.schema.names
                buffer = io.BytesIO()
                pacsv.write_csv(batch, buffer, write_options=pacsv.WriteOptions(include_header=False))
                statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                    sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
                )
                with cursor.copy(statement) as copy:
                    copy.write(buffer.getbuffer())
                rows += batch.num_rows
    yield pa.record_batch([pa.array([rows], type=pa.int64())], names=["rows"])
