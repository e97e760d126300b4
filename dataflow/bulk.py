"""Bulk load into an empty customers table: a new table filled without indexes, indexed once, swapped in.

Into an indexed table every row updates every index (nine B-trees and the
trigram GIN index of the API's search): that is the cost of ``psql \\copy``
too. When the table is empty and the file holds at least
``INGEST_BULK_MIN_ROWS`` records, the publishing transaction instead:

1. locks the table against writers (``SHARE ROW EXCLUSIVE``: reads go on;
   another load waits), checks it is still empty and that nothing depends on
   it that a swap would break (:func:`dataflow.bulk_catalog.bulk_blockers`);
2. creates a new table ``LIKE`` it (columns, defaults, identity, NOT NULL)
   without any index and fills it from the staged records in one
   ``INSERT ... SELECT`` (ids drawn from the real table's sequence);
3. builds every index, constraint and statistics object of the real table on
   it, read from the catalog, under temporary names;
4. swaps it in (:func:`bulk_swap`), last before the commit: the exclusive
   lock is taken with a short ``lock_timeout`` and retried, so a long read is
   never queued behind for long; the old table is dropped, the new one and
   its objects get the old names, the sequence goes on where it was.

All of it is one transaction: a kill at any point leaves the old table (and
no new one: its creation rolls back) or, once committed, the new one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from django.db import OperationalError, connection, transaction
from psycopg import errors, sql

from dataflow.bulk_catalog import NEW_PREFIX, Catalog, Rename, bulk_blockers, catalog_read
from dataflow.load import UpsertCounts, staged_latest_sql
from dataflow.schema import Schema

BUILD_MEMORY = "256MB"
"""``maintenance_work_mem`` while the indexes are built (this transaction only)."""
LOCK_WAIT_MS = 200
"""How long one attempt at the swap's exclusive lock may hold readers queued (then it retries)."""
LOCK_RETRY_PAUSE_S = 0.2
LOCK_PATIENCE_S = 120.0
NOT_EMPTY = "the table is not empty"
"""After retrying this long, the swap waits for its lock like any statement."""


@dataclass
class BulkTable:
    """A new version of ``table``, built in the publishing transaction until :func:`bulk_swap`."""

    schema_name: str
    table: str
    new: str
    catalog: Catalog
    timings: dict[str, float] = field(default_factory=dict)

    def ident(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.schema_name, name)


def bulk_begin(*, table: str, rows: int, min_rows: int) -> tuple[BulkTable | None, str]:
    """Inside the publishing transaction: the table locked against writers and ready for a new
    version, or ``(None, why not)`` (the lock released then).

    The lock (``SHARE ROW EXCLUSIVE``) lets reads through and holds other writers until the commit:
    nothing can reach the old table between the check that it is empty and the swap. A table
    seen with rows first is left unlocked: a large file into it never waits for other writers.
    """
    if rows < min_rows:
        return None, f"{rows} records, fewer than INGEST_BULK_MIN_ROWS ({min_rows})"
    # A table with rows: the upsert, without waiting for a lock. The look is rolled back to its
    # savepoint, which releases the read lock it took: waiting below for another load's lock while
    # holding it would deadlock with that load's swap (its exclusive lock waits for every reader).
    point = transaction.savepoint()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table)))
        filled = cursor.fetchone()[0]
    transaction.savepoint_rollback(point)
    if filled:
        return None, NOT_EMPTY
    point = transaction.savepoint()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(sql.Identifier(table)))
        cursor.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table)))
        reason = NOT_EMPTY if cursor.fetchone()[0] else bulk_blockers(table)
        cursor.execute(
            "SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = %s::regclass", [table]
        )
        schema_name = str(cursor.fetchone()[0]).strip('"')
    new = (NEW_PREFIX + table)[:63]
    catalog = Catalog() if reason else catalog_read(table=table, schema_name=schema_name, new=new)
    reason = reason or catalog.problem
    if reason:
        transaction.savepoint_rollback(point)
        return None, reason
    transaction.savepoint_commit(point)
    return BulkTable(schema_name=schema_name, table=table, new=new, catalog=catalog), ""


def upsert_lock(table: str) -> None:
    """The lock an upsert's ``INSERT`` takes (``ROW EXCLUSIVE``), taken before anything else in the
    publishing transaction reads ``table``: while a bulk load holds it, the upsert waits holding
    nothing on the table. Waiting with a read lock (a hook's look at the table) deadlocked with
    that load's swap, whose exclusive lock waits for every reader."""
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(sql.Identifier(table)))


def _create(bulk: BulkTable) -> None:
    new, old = bulk.ident(bulk.new), bulk.ident(bulk.table)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(new))
        cursor.execute(
            sql.SQL(
                "CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED"
                " INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS)"
            ).format(new, old)
        )
        if bulk.catalog.options:
            options = sql.SQL(", ").join(sql.SQL(option) for option in bulk.catalog.options)
            cursor.execute(sql.SQL("ALTER TABLE {} SET ({})").format(new, options))


def bulk_fill(
    bulk: BulkTable, *, schema: Schema, source_file: str, ingested_at: datetime, distinct_keys: int
) -> UpsertCounts:
    """The new table filled with the staged records (the last of each key), then indexed."""
    _create(bulk)
    started = time.monotonic()
    sequences = {c: s for c, s in bulk.catalog.sequences.items() if c not in schema.field_names}
    targets = [*sequences, *schema.field_names, "source_file", "ingested_at"]
    draws = [sql.SQL("nextval({}::regclass)").format(sql.Literal(s)) for s in sequences.values()]
    statement = sql.SQL(
        "INSERT INTO {new} ({targets}) OVERRIDING SYSTEM VALUE SELECT {values} FROM ({latest}) AS latest"
    ).format(
        new=bulk.ident(bulk.new),
        targets=sql.SQL(", ").join(sql.Identifier(t) for t in targets),
        values=sql.SQL(", ").join(
            [
                *draws,
                *(sql.SQL("latest.") + sql.Identifier(n) for n in schema.field_names),
                sql.Placeholder("source_file"),
                sql.Placeholder("ingested_at"),
            ]
        ),
        latest=staged_latest_sql(schema),
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, {"source_file": source_file, "ingested_at": ingested_at})
        inserted = cursor.rowcount
        bulk.timings["bulk_fill"] = round(time.monotonic() - started, 3)
        started = time.monotonic()
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [BUILD_MEMORY])
        for build in bulk.catalog.builds:
            cursor.execute(build)
        bulk.timings["bulk_index"] = round(time.monotonic() - started, 3)
    return UpsertCounts(inserted=inserted, updated=0, unchanged=distinct_keys - inserted)


def _lock_exclusive(table: sql.Identifier) -> int:
    """``ACCESS EXCLUSIVE`` on ``table``, each attempt queued at most ``LOCK_WAIT_MS`` (readers
    arriving meanwhile wait behind it), retried until ``LOCK_PATIENCE_S``; the attempts made."""
    started, attempts = time.monotonic(), 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        previous = cursor.fetchone()[0]
        while True:
            attempts += 1
            patient = time.monotonic() - started < LOCK_PATIENCE_S
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)", [f"{LOCK_WAIT_MS}ms" if patient else "0"]
            )
            try:
                with transaction.atomic():
                    cursor.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table))
                break
            except OperationalError as exc:
                if not isinstance(exc.__cause__, errors.LockNotAvailable):
                    raise
                time.sleep(LOCK_RETRY_PAUSE_S)
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    return attempts


def _carried_over(bulk: BulkTable) -> list[Rename]:
    """The sequences set where the old ones are; the renames of the new table's sequences and NOT NULL
    constraints (made by LIKE) to the old names. Before the old table is dropped."""
    renames: list[Rename] = []
    new = f"{bulk.schema_name}.{bulk.new}"
    with connection.cursor() as cursor:
        for column, old_sequence in bulk.catalog.sequences.items():
            cursor.execute(
                "SELECT n.relname, o.relname FROM pg_class n, pg_class o"
                " WHERE n.oid = pg_get_serial_sequence(%s, %s)::regclass AND o.oid = %s::regclass",
                [new, column, old_sequence],
            )
            temporary, final = cursor.fetchone()
            cursor.execute(
                sql.SQL("SELECT setval({}::regclass, last_value, is_called) FROM {}").format(
                    sql.Literal(f"{bulk.schema_name}.{temporary}"), sql.SQL(old_sequence)
                )
            )
            renames.append(Rename("SEQUENCE", temporary, final))
        cursor.execute(
            "SELECT n.conname, o.conname FROM pg_constraint n"
            " JOIN pg_attribute na ON na.attrelid = n.conrelid AND na.attnum = n.conkey[1]"
            " JOIN pg_attribute oa ON oa.attrelid = %s::regclass AND oa.attname = na.attname"
            " JOIN pg_constraint o ON o.conrelid = oa.attrelid AND o.contype = 'n'"
            " AND o.conkey[1] = oa.attnum"
            " WHERE n.conrelid = %s::regclass AND n.contype = 'n' AND n.conname <> o.conname",
            [f"{bulk.schema_name}.{bulk.table}", new],
        )
        renames.extend(Rename("CONSTRAINT", temporary, final) for temporary, final in cursor.fetchall())
    return renames


def bulk_swap(bulk: BulkTable) -> None:
    """The new table in place of the old one, with its name and its objects' names. Last thing
    before the commit: the exclusive lock it takes is held only until then."""
    started = time.monotonic()
    old = bulk.ident(bulk.table)
    attempts = _lock_exclusive(old)
    renames = [*_carried_over(bulk), *bulk.catalog.renames]
    statements = {
        "INDEX": "ALTER INDEX {object} RENAME TO {final}",
        "STATISTICS": "ALTER STATISTICS {object} RENAME TO {final}",
        "SEQUENCE": "ALTER SEQUENCE {object} RENAME TO {final}",
        "CONSTRAINT": "ALTER TABLE {table} RENAME CONSTRAINT {temporary} TO {final}",
    }
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE {}").format(old))
        cursor.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(bulk.ident(bulk.new), sql.Identifier(bulk.table))
        )
        for rename in renames:
            cursor.execute(
                sql.SQL(statements[rename.kind]).format(
                    object=bulk.ident(rename.temporary),
                    table=old,
                    temporary=sql.Identifier(rename.temporary),
                    final=sql.Identifier(rename.final),
                )
            )
    bulk.timings["bulk_swap"] = round(time.monotonic() - started, 3)
    bulk.timings["bulk_swap_lock_attempts"] = attempts
