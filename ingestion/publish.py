"""Publish a staged file, the same for every engine: counts, the quality verdict, one transaction.

Line fixes, the file's counts, the quality verdict (thresholds apply to the
whole file), then the upsert, the quarantine and the run's status in one
transaction; then the quality alert.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import structlog
from django.conf import settings
from django.db import connection, transaction
from psycopg import sql

from customers.models import Customer
from dataflow import load
from dataflow.bulk import BulkTable, bulk_begin, bulk_fill, bulk_swap, upsert_lock
from dataflow.context import (
    STAGE_LOAD,
    STAGE_QUALITY,
    IngestHook,
    RejectFile,
    RunCounts,
    RunOutcome,
    StageContext,
)
from dataflow.engines import StagedFile
from dataflow.quality import Outcome, Verdict
from dataflow.schema import Schema
from dataflow.upsert import ChangeSink, customers_diff_staged, customers_upsert_staged
from ingestion.models import IngestionRun, QuarantinedRecord, RunStatus
from ingestion.quality_alerts import quality_alert
from ingestion.services import run_finish

log = structlog.get_logger("etl.ingest")

NO_RECORDS_WARNING = "the file holds no records"
SUPERSEDED_WARNING = (
    "{count} {key} value(s) not loaded: the last record of each in the file was quarantined, so"
    " their earlier records count as duplicates (report.duplicates.keys)"
)
DUPLICATE_KEYS_SHOWN = 20
"""The run report names this many repeated keys (the first in the file), with their first lines."""
DUPLICATE_LINES_SHOWN = 5


class QualityRejected(RejectFile):
    """More records failed the quality rules than ``reject_above`` allows."""

    def __init__(self, verdict: Verdict, *, report: dict[str, Any]) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict
        self.report = report


def _path_chosen(
    ctx: StageContext, *, counts: RunCounts, hooks: list[IngestHook], report: dict[str, Any]
) -> tuple[BulkTable | None, list[str]]:
    """A new version of the customers table to fill (:mod:`dataflow.bulk`) or None (the upsert), and
    the hooks' change sinks. Which path and why in the run's report, and in the log when the file was
    large enough for the bulk path."""
    assert ctx.run is not None
    # The bulk path locks the table against writers first: the hooks then see what it loads into.
    bulk, reason = bulk_begin(
        table=Customer._meta.db_table, rows=counts.loaded, min_rows=settings.INGEST_BULK_MIN_ROWS
    )
    if bulk is None:  # before the hooks look at the table (see upsert_lock)
        upsert_lock(Customer._meta.db_table)
    sinks = [table for hook in hooks if (table := hook.changes_sink(ctx)) is not None]
    if len(sinks) > 1:
        raise ValueError(f"one hook at most may take the load's changes: {sinks}")
    if bulk is not None and sinks:
        bulk, reason = None, f"a hook takes the load's changes row by row ({sinks[0]})"
    report["load"] = {"path": "upsert" if bulk is None else "bulk", "reason": reason}
    if reason and counts.loaded >= settings.INGEST_BULK_MIN_ROWS:
        log.info("ingest.bulk_fallback", file=ctx.filename, run_id=ctx.run.pk, reason=reason)
    return bulk, sinks


def _upsert(
    ctx: StageContext,
    *,
    schema: Schema,
    counts: RunCounts,
    ingested_at: datetime,
    hooks: list[IngestHook],
    report: dict[str, Any],
) -> tuple[load.UpsertCounts, BulkTable | None]:
    """Upsert the staged records (or diff them, for a dry run), or fill a new version of the table
    to swap in (returned). Inside the run's transaction."""
    assert ctx.options is not None
    assert ctx.run is not None
    if ctx.options.dry_run:
        return customers_diff_staged(schema=schema), None
    bulk, sinks = _path_chosen(ctx, counts=counts, hooks=hooks, report=report)
    if bulk is not None:
        filled = bulk_fill(
            bulk,
            schema=schema,
            source_file=ctx.filename,
            ingested_at=ingested_at,
            distinct_keys=counts.loaded,
        )
        return filled, bulk
    upserted = customers_upsert_staged(
        schema=schema,
        source_file=ctx.filename,
        ingested_at=ingested_at,
        distinct_keys=counts.loaded,
        changes=ChangeSink(table=sinks[0], run_id=ctx.run.pk) if sinks else None,
    )
    return upserted, None


def _duplicate_keys(*, schema: Schema) -> list[dict[str, Any]]:
    """The first repeated keys of the staged file, each with how often and on which lines (the
    last occurrence is the one loaded), and the keys whose last record was quarantined, with
    its line (``quarantined_line``: none of their records is loaded). Asked only when the file
    has duplicates, before :func:`dataflow.load.staging_supersede`."""
    query = sql.SQL(
        "WITH q AS ({quarantined}) SELECT s.{key}, count(*), (array_agg(s._line ORDER BY s._line))[1:%s],"
        " CASE WHEN max(q.last) > max(s._line) THEN max(q.last) END"
        " FROM {stage} s LEFT JOIN q ON q._key = s.{key} GROUP BY s.{key}"
        " HAVING count(*) > 1 OR max(q.last) > max(s._line) ORDER BY min(s._line) LIMIT %s"
    ).format(
        key=sql.Identifier(schema.key),
        stage=sql.Identifier(load.STAGE),
        quarantined=load.last_quarantined_sql(),
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [DUPLICATE_LINES_SHOWN, DUPLICATE_KEYS_SHOWN])
        return [
            {"key": key, "count": count, "lines": lines} | ({"quarantined_line": last} if last else {})
            for key, count, lines, last in cursor.fetchall()
        ]


def _counted(ctx: StageContext, staged: StagedFile, *, schema: Schema) -> None:
    """The file's lines fixed and its counts, duplicates and failures in the outcome."""
    outcome, counts = staged.outcome, staged.outcome.counts
    timings = outcome.report["seconds"]
    fix = staged.reader.line_fix()
    ctx.stage = STAGE_LOAD
    if fix is not None:
        load.staging_fix_lines(fix=fix)
        staged.tally.lines_correct(fix.corrected)
    outcome.warnings.extend(staged.reader.info.warnings)
    mark = time.monotonic()
    counted = load.staging_counts(schema=schema)
    timings["count_duplicates"] = round(time.monotonic() - mark, 3)
    counts.read = counted.staged + counts.quarantined
    counts.duplicates = counted.duplicates
    counts.loaded = counted.distinct_keys
    outcome.report["extra_columns"] = staged.extra
    outcome.report["duplicates"] = {
        "exact": counted.exact_duplicates,
        "same_key": counted.key_duplicates,
        "superseded_by_quarantine": counted.superseded,
    }
    if counted.duplicates:
        outcome.report["duplicates"]["keys"] = _duplicate_keys(schema=schema)
    if counted.superseded:
        load.staging_supersede(schema=schema)
        outcome.warnings.append(SUPERSEDED_WARNING.format(count=counted.superseded, key=schema.key))
    outcome.report["failures"] = dict(staged.tally.failures)
    if counts.read == 0:
        outcome.warnings.append(NO_RECORDS_WARNING)


def publish_staged(
    ctx: StageContext, staged: StagedFile, *, run: IngestionRun, schema: Schema, hooks: list[IngestHook]
) -> tuple[RunOutcome, int]:
    """Everything after the last batch is staged; the outcome and the quarantined records stored.

    Raises :class:`QualityRejected` when the whole file fails the thresholds. The hooks'
    ``in_commit`` runs inside the publishing transaction, before the run's status is written.
    """
    _counted(ctx, staged, schema=schema)
    outcome, counts = staged.outcome, staged.outcome.counts
    ctx.stage = STAGE_QUALITY  # thresholds apply to the whole file: decided once all batches are in
    verdict = staged.tally.verdict(read=counts.read, invalid=counts.quarantined)
    outcome.report["quality"] = staged.tally.report(verdict)
    outcome.warnings.extend(staged.tally.warnings(verdict))
    if verdict.outcome == Outcome.REJECT:
        raise QualityRejected(verdict, report=outcome.report)
    ctx.stage = STAGE_LOAD
    # One transaction: a crash here must leave neither customer rows nor a succeeded run.
    with transaction.atomic():
        mark = time.monotonic()
        upsert, bulk = _upsert(
            ctx,
            schema=schema,
            counts=counts,
            ingested_at=staged.ingested_at,
            hooks=hooks,
            report=outcome.report,
        )
        outcome.report["seconds"]["upsert"] = round(time.monotonic() - mark, 3)
        counts.inserted, counts.updated, counts.unchanged = upsert.inserted, upsert.updated, upsert.unchanged
        stored = load.quarantine_publish(run_id=run.pk, table=QuarantinedRecord._meta.db_table)
        for hook in hooks:
            hook.in_commit(ctx)
        # The customers this run wrote carry this stamp: the admin links each customer to its run by it.
        run.loaded_at = None if ctx.options is not None and ctx.options.dry_run else staged.ingested_at
        if bulk is not None:  # last: the swap's exclusive lock is held only until the commit
            bulk_swap(bulk)
            outcome.report["seconds"].update(bulk.timings)
        run_finish(run=run, status=RunStatus.SUCCEEDED, outcome=outcome)
    quality_alert(run=run, verdict=verdict)
    return outcome, stored
