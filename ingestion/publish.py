"""Publish a staged file, the same for every engine: counts, the quality verdict, one transaction.

Line fixes, the file's counts, the quality verdict (thresholds apply to the
whole file), then the upsert, the quarantine and the run's status in one
transaction; then the quality alert.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from psycopg import sql

from dataflow import load
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
from ingestion.models import IngestionRun, QuarantinedRecord, RunStatus
from ingestion.quality_alerts import quality_alert
from ingestion.services import run_finish

NO_RECORDS_WARNING = "the file holds no records"
DUPLICATE_KEYS_SHOWN = 20
"""The run report names this many repeated keys (the first in the file), with their first lines."""
DUPLICATE_LINES_SHOWN = 5


class QualityRejected(RejectFile):
    """More records failed the quality rules than ``reject_above`` allows."""

    def __init__(self, verdict: Verdict, *, report: dict[str, Any]) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict
        self.report = report


def _upsert(
    ctx: StageContext,
    *,
    schema: Schema,
    counts: RunCounts,
    ingested_at: datetime,
    hooks: list[IngestHook],
    run_id: int,
) -> load.UpsertCounts:
    """Upsert the staged records (or diff them, for a dry run). Inside the run's transaction."""
    assert ctx.options is not None
    if ctx.options.dry_run:
        return load.customers_diff_staged(schema=schema)
    sinks = [table for hook in hooks if (table := hook.changes_sink(ctx)) is not None]
    if len(sinks) > 1:
        raise ValueError(f"one hook at most may take the load's changes: {sinks}")
    return load.customers_upsert_staged(
        schema=schema,
        source_file=ctx.filename,
        ingested_at=ingested_at,
        distinct_keys=counts.loaded,
        changes=load.ChangeSink(table=sinks[0], run_id=run_id) if sinks else None,
    )


def _duplicate_keys(*, schema: Schema) -> list[dict[str, Any]]:
    """The first repeated keys of the staged file, each with how often and on which lines (the
    last occurrence is the one loaded). Asked only when the file has duplicates."""
    query = sql.SQL(
        "SELECT {key}, count(*), (array_agg(_line ORDER BY _line))[1:%s] FROM {stage}"
        " GROUP BY {key} HAVING count(*) > 1 ORDER BY min(_line) LIMIT %s"
    ).format(key=sql.Identifier(schema.key), stage=sql.Identifier(load.STAGE))
    with connection.cursor() as cursor:
        cursor.execute(query, [DUPLICATE_LINES_SHOWN, DUPLICATE_KEYS_SHOWN])
        return [{"key": key, "count": count, "lines": lines} for key, count, lines in cursor.fetchall()]


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
    outcome.report["duplicates"] = {"exact": counted.exact_duplicates, "same_key": counted.key_duplicates}
    if counted.duplicates:
        outcome.report["duplicates"]["keys"] = _duplicate_keys(schema=schema)
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
        upsert = _upsert(
            ctx, schema=schema, counts=counts, ingested_at=staged.ingested_at, hooks=hooks, run_id=run.pk
        )
        outcome.report["seconds"]["upsert"] = round(time.monotonic() - mark, 3)
        counts.inserted, counts.updated, counts.unchanged = upsert.inserted, upsert.updated, upsert.unchanged
        stored = load.quarantine_publish(run_id=run.pk, table=QuarantinedRecord._meta.db_table)
        for hook in hooks:
            hook.in_commit(ctx)
        # The customers this run wrote carry this stamp: the admin links each customer to its run by it.
        run.loaded_at = None if ctx.options is not None and ctx.options.dry_run else staged.ingested_at
        run_finish(run=run, status=RunStatus.SUCCEEDED, outcome=outcome)
    quality_alert(run=run, verdict=verdict)
    return outcome, stored
