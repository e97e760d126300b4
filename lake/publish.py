"""Publishing runs to the curated tables through the change log: the cost follows the change.

Called under the lake writer lock (:mod:`lake.sync`) for the runs to
publish: the current one, and earlier ones whose lake step failed or whose
ingest died after its commit.

- Edits made outside ingest since the last step are claimed by the run.
- A rebuild from PostgreSQL when the base was never built, a run loaded an
  empty table (it asked for one instead of capturing its rows) or runs were
  loaded while the lake was off: base and counts in one snapshot each, stamped
  with a watermark (:func:`lake.outbox.watermark_take`).
- Otherwise, per run, oldest first: its changes appended to
  ``customers_changes`` and its count deltas to ``customers_by_country_day``,
  one snapshot each carrying the run id; a retried step skips what a snapshot
  of the run already holds.
- The outbox forgets what the lake now has; the data-quality rows of the
  finished runs not there yet are appended.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyiceberg.expressions as expressions
from django.db import connection
from django.db.models import Q
from psycopg import sql
from pyiceberg.catalog import Catalog
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC
from pyiceberg.table import Table

from ingestion.models import IngestionRun, LakeStatus, RunStatus
from lake.changelog import (
    BASE,
    CHANGE_SEQ,
    CHANGES,
    COUNTS,
    REBUILT_SEQ,
    base_schema,
    changes_schema,
    counts_schema,
    rebuilt_seq,
    run_published,
)
from lake.curated import RunQuality, customers_rebuild, data_quality_append, data_quality_runs
from lake.outbox import (
    external_claim,
    outbox_clear,
    rebuild_requested,
    run_changes,
    run_count_deltas,
    watermark_take,
)
from lake.selectors import customer_tables, quality_failures
from lake.tables import (
    DATA_QUALITY,
    OPERATION,
    RUN_ID,
    customers_spec,
    files_append,
    files_commit,
    schema_evolve,
    table_replace,
    table_spec,
    tables_open,
)

# pyiceberg's predicates are pydantic models whose __init__ mypy cannot see.
ex: Any = expressions
LEGACY_TABLES = ("customers", "customers_by_country", "customers_by_month")
"""Physical tables of the copy-on-write lake (before issue #16): now views, dropped from the catalog."""


@dataclass(frozen=True)
class LakeTables:
    base: Table
    changes: Table
    counts: Table
    quality: Table


@dataclass(frozen=True)
class Published:
    mode: str
    """``changes`` (the runs' changes appended) or ``rebuild`` (from PostgreSQL)."""
    snapshot_id: int
    """The snapshot of the current run (of ``customers_changes``, or of ``customers_base``)."""
    runs: list[int]
    """Runs whose changes the lake now has."""


def lake_tables(catalog: Catalog) -> LakeTables:
    """The physical tables of the curated namespace, created when missing."""
    base = base_schema()
    wanted = {
        BASE: (base, customers_spec(base)),
        CHANGES: (changes_schema(), UNPARTITIONED_PARTITION_SPEC),
        COUNTS: (counts_schema(), UNPARTITIONED_PARTITION_SPEC),
        DATA_QUALITY: table_spec(DATA_QUALITY),
    }
    tables = tables_open(catalog, wanted, drop=LEGACY_TABLES)
    # A new column of the customers model: added to both (metadata only, no data file rewritten).
    return LakeTables(
        base=schema_evolve(tables[BASE], schema_to_pyarrow(base, include_field_ids=False)),
        changes=schema_evolve(tables[CHANGES], schema_to_pyarrow(changes_schema(), include_field_ids=False)),
        counts=tables[COUNTS],
        quality=tables[DATA_QUALITY],
    )


def rebuild_needed(tables: LakeTables, *, runs: Sequence[int]) -> bool:
    if tables.base.current_snapshot() is None or rebuild_requested(run_ids=runs):
        return True
    # Loaded while the lake was off: their changes were never captured.
    return IngestionRun.objects.filter(status=RunStatus.SUCCEEDED, lake_status=LakeStatus.DISABLED).exists()


def _counts_from_customers(schema: pa.Schema) -> pa.Table:
    from customers.models import Customer

    query = sql.SQL(
        "SELECT country, subscription_date, count(*), NULL::bigint FROM {} GROUP BY 1, 2 ORDER BY 1, 2"
    ).format(sql.Identifier(Customer._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(query)
        rows = cursor.fetchall()
    return pa.Table.from_arrays(
        [pa.array([r[i] for r in rows], type=schema.field(i).type) for i in range(len(schema))], schema=schema
    )


def _stamped(watermark: int) -> Iterator[pa.Table]:
    for chunk in customer_tables():
        yield chunk.append_column(CHANGE_SEQ, pa.array([watermark] * chunk.num_rows, pa.int64()))


def rebuild(tables: LakeTables, *, properties: dict[str, str]) -> int:
    """Base and counts from the customers table, as of one snapshot; the change log emptied (its
    rows are older than the watermark). The base's snapshot id."""
    counts_arrow = schema_to_pyarrow(tables.counts.schema(), include_field_ids=False)
    with watermark_take() as watermark:
        result = customers_rebuild(
            tables.base, rows=_stamped(watermark), properties=properties | {REBUILT_SEQ: str(watermark)}
        )
        table_replace(tables.counts, _counts_from_customers(counts_arrow), properties=properties)
    if tables.changes.current_snapshot() is not None:
        stale = [task.file for task in tables.changes.scan().plan_files()]
        if stale:
            files_commit(tables.changes, remove=stale, add=None, properties=properties)
    outbox_clear(through_seq=watermark)
    IngestionRun.objects.filter(status=RunStatus.SUCCEEDED, lake_status=LakeStatus.DISABLED).update(
        lake_status=LakeStatus.REPAIRED
    )
    return result.commit.snapshot_id


def changes_publish(tables: LakeTables, *, run_id: int, properties: dict[str, str]) -> int:
    """One run's changes and count deltas (one snapshot each, even empty); the changes snapshot id."""
    props = properties | {RUN_ID: str(run_id)}
    after = rebuilt_seq(tables.base)
    if not run_published(tables.changes, run_id=run_id):
        arrow = schema_to_pyarrow(changes_schema(), include_field_ids=False)
        chunks = run_changes(run_id=run_id, table=_customers_table(), schema=arrow, after_seq=after)
        files_append(tables.changes, chunks=chunks, properties=props)
    if not run_published(tables.counts, run_id=run_id):
        arrow = schema_to_pyarrow(tables.counts.schema(), include_field_ids=False)
        deltas = run_count_deltas(run_id=run_id, schema=arrow, after_seq=after)
        files_append(tables.counts, chunks=[deltas], properties=props)
    return next(
        s.snapshot_id
        for s in reversed(tables.changes.snapshots())
        if s.summary is not None and s.summary.additional_properties.get(RUN_ID) == str(run_id)
    )


def _customers_table() -> str:
    from customers.models import Customer

    return Customer._meta.db_table


def quality_publish(quality: Table, *, runs: Sequence[int], properties: dict[str, str]) -> None:
    """Data-quality rows of ``runs`` and of rejected runs not published yet, once each."""
    finished = IngestionRun.objects.filter(
        status__in=[RunStatus.SUCCEEDED, RunStatus.REJECTED], dry_run=False
    )
    rejected = Q(status=RunStatus.REJECTED, lake_status=LakeStatus.NOT_RUN)
    candidates = list(finished.filter(Q(pk__in=list(runs)) | rejected).order_by("id"))
    if not candidates:
        return
    present = data_quality_runs(quality, run_ids=[c.pk for c in candidates])
    rows = [
        RunQuality(
            run_id=run.pk,
            filename=run.filename,
            rows_read=run.rows_read,
            rows_quarantined=run.rows_quarantined,
            failures=quality_failures(run_id=run.pk),
        )
        for run in candidates
        if run.pk not in present
    ]
    data_quality_append(quality, runs=rows, properties=properties | {OPERATION: "append"}, present=present)
    IngestionRun.objects.filter(pk__in=[c.pk for c in candidates if c.status == RunStatus.REJECTED]).update(
        lake_status=LakeStatus.SUCCEEDED
    )


def runs_publish(
    catalog: Catalog, *, runs: Sequence[int], current: int | None = None, sync: bool = False
) -> Published:
    """Publish ``runs`` (and ``current``, the run whose step this is): their changes, or a rebuild
    when one is needed or asked for (``sync``: ``lake sync``)."""
    tables = lake_tables(catalog)
    ids = sorted({*runs, *([current] if current is not None else [])})
    props = {RUN_ID: str(current)} if current is not None else {}
    if current is not None:
        external_claim(run_id=current)
    if sync or rebuild_needed(tables, runs=ids):
        operation = "sync" if current is None else "rebuild"
        snapshot_id = rebuild(tables, properties=props | {OPERATION: operation})
        mode = "rebuild"
    else:
        snapshots = {
            run: changes_publish(tables, run_id=run, properties={OPERATION: "changes"}) for run in ids
        }
        snapshot_id = snapshots.get(current, 0) if current is not None else max(snapshots.values(), default=0)
        mode = "changes"
    outbox_clear(run_ids=ids)
    quality_publish(tables.quality, runs=ids, properties=props)
    return Published(mode=mode, snapshot_id=snapshot_id, runs=ids)
