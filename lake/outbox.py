"""The changes a load made, kept in PostgreSQL until the lake has them (an outbox).

The load's upsert writes each row it inserted or updated into ``lake_change``
in its own transaction (PostgreSQL 18's ``RETURNING old``/``new``: the row
before and after, as JSON), so a process killed after the commit leaves the
lake step owed with its exact input. Edits outside ingest (the admin) are
captured by :mod:`lake.capture`. ``seq`` orders the changes of a customer
as they committed: a later change of the same row waits for the earlier
one's row lock, then draws a higher ``seq``.

A load into an empty customers table captures nothing: it leaves one ``r``
row (a rebuild request) and the lake step reads the whole table instead.

A rebuild stamps the base with a watermark drawn while no capturing
transaction is open (:func:`watermark_take`): every change with a lower
``seq`` is committed and in the rebuilt base; the later ones are not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import pyarrow as pa
from django.db import connection, transaction
from psycopg import sql

from lake import fetch
from lake.fetch import rows_table

CHANGE_TABLE = "lake_change"
OP_REBUILD = "r"
CAPTURE_LOCK = 7_000_016
"""Advisory lock: shared by every capturing transaction, exclusive while a rebuild draws its watermark."""
BATCH_ROWS = 25_000
"""Change rows per Arrow table appended to the change log (one data file each): bounds memory."""


def capture_lock_shared() -> None:
    """Inside a capturing transaction, before its first change: held until it commits."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [CAPTURE_LOCK])


def rebuild_request(*, run_id: int) -> None:
    """Inside the load's transaction: the lake step of ``run_id`` rebuilds from the customers table."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("INSERT INTO {} (run_id, op) VALUES (%s, %s)").format(sql.Identifier(CHANGE_TABLE)),
            [run_id, OP_REBUILD],
        )


@contextlib.contextmanager
def watermark_take() -> Iterator[int]:
    """A transaction whose snapshot holds every change up to the yielded ``seq`` and none after.

    The exclusive capture lock waits for the open capturing transactions to commit and is
    released once the snapshot is taken: loads go on while the caller reads the whole table
    (REPEATABLE READ: one snapshot for all its queries; under tests' outer transaction, that one).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [CAPTURE_LOCK])
    locked = True
    try:
        outer = connection.in_atomic_block
        with transaction.atomic(), connection.cursor() as cursor:
            if not outer:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # The first query takes the snapshot; nextval runs after it.
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'seq'))", [CHANGE_TABLE])
            watermark = int(cursor.fetchone()[0])
            cursor.execute("SELECT pg_advisory_unlock(%s)", [CAPTURE_LOCK])
            locked = False
            yield watermark
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [CAPTURE_LOCK])


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def pending_runs() -> list[int | None]:
    """Runs with changes not yet in the lake (None: edits outside ingest), oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT DISTINCT run_id FROM {} ORDER BY run_id NULLS FIRST").format(_ident(CHANGE_TABLE))
        )
        return [row[0] for row in cursor.fetchall()]


def external_claim(*, run_id: int) -> int:
    """Edits made outside ingest become part of ``run_id``'s changes (published with it, once)."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("UPDATE {} SET run_id = %s WHERE run_id IS NULL").format(_ident(CHANGE_TABLE)), [run_id]
        )
        return cursor.rowcount


def rebuild_requested(*, run_ids: Sequence[int]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE run_id = ANY(%s) AND op = %s)").format(
                _ident(CHANGE_TABLE)
            ),
            [list(run_ids), OP_REBUILD],
        )
        return bool(cursor.fetchone()[0])


def run_changes(
    *,
    run_id: int,
    table: str,
    schema: pa.Schema,
    after_seq: int = 0,
    batch_size: int | None = None,
    fetch_size: int | None = None,
) -> Iterator[pa.Table]:
    """The run's changes as Arrow tables of ``batch_size`` rows (default :data:`BATCH_ROWS`),
    fetched ``fetch_size`` at a time (default :data:`lake.fetch.FETCH_ROWS`), in ``schema``'s columns.

    ``schema``: the customers columns (values of the row after the change; before it, for a
    delete), then ``_change_seq``, ``_change_op``, ``_change_run``. A server-side cursor: memory
    is bounded by the batch. Changes up to ``after_seq`` are in the base already: skipped.
    """
    columns = schema.names[:-3]
    query = sql.SQL(
        "SELECT {columns}, o.seq, o.op::text, o.run_id FROM {outbox} o,"
        " jsonb_populate_record(NULL::{table}, coalesce(o.after, o.before)) AS r"
        " WHERE o.run_id = %s AND o.op <> %s AND o.seq > %s ORDER BY o.seq"
    ).format(
        columns=sql.SQL(", ").join(sql.SQL("r.") + _ident(c) for c in columns),
        outbox=_ident(CHANGE_TABLE),
        table=_ident(table),
    )
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection), [run_id, OP_REBUILD, after_seq])
        yield from fetch.cursor_tables(
            cursor, schema, batch_size=batch_size or BATCH_ROWS, fetch_size=fetch_size or fetch.FETCH_ROWS
        )


def run_count_deltas(*, run_id: int, schema: pa.Schema, after_seq: int = 0) -> pa.Table:
    """How the run changed the customer count of each (country, subscription date): +1 per row
    after a change, -1 per row before it; cells it left unchanged omitted."""
    query = sql.SQL(
        "SELECT country, subscription_date, sum(d)::bigint, %s::bigint FROM ("
        " SELECT after->>'country' AS country, (after->>'subscription_date')::date AS subscription_date,"
        "  1 AS d FROM {outbox} WHERE run_id = %s AND seq > %s AND after IS NOT NULL"
        " UNION ALL SELECT before->>'country', (before->>'subscription_date')::date, -1"
        "  FROM {outbox} WHERE run_id = %s AND seq > %s AND before IS NOT NULL) AS cells"
        " GROUP BY country, subscription_date HAVING sum(d) <> 0 ORDER BY country, subscription_date"
    ).format(outbox=_ident(CHANGE_TABLE))
    with connection.cursor() as cursor:
        cursor.execute(query, [run_id, run_id, after_seq, run_id, after_seq])
        return rows_table(cursor.fetchall(), schema)


def outbox_clear(*, run_ids: Sequence[int] = (), through_seq: int = 0) -> int:
    """Forget changes the lake has: those of ``run_ids``, and every one up to ``through_seq``."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("DELETE FROM {} WHERE run_id = ANY(%s) OR seq <= %s").format(_ident(CHANGE_TABLE)),
            [list(run_ids), through_seq],
        )
        return cursor.rowcount
