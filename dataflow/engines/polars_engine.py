"""The default engine: Polars, one batch at a time, in this process.

Memory is bounded by the batch size: each batch is mapped, transformed,
checked, staged (COPY) and handed to the hooks, then let go before the next is read.
"""

from __future__ import annotations

import time

from dataflow import load
from dataflow.context import (
    STAGE_HOOKS,
    STAGE_LOAD,
    STAGE_QUALITY,
    STAGE_READ,
    STAGE_TRANSFORM,
    IngestHook,
    IngestOptions,
    ProgressReporter,
    StageContext,
)
from dataflow.engines.base import RunningAmong, StagedFile
from dataflow.mapping import extra_columns
from dataflow.quality.repeats import with_repeated
from dataflow.readers import LINE_COLUMN, RawBatch
from dataflow.schema import Schema
from dataflow.stages import (
    FileSetup,
    file_setup,
    mapping_late,
    quarantine_stage,
    repeats_count,
    set_aside_stage,
    stage_quality,
    stage_transform,
)


class PolarsEngine:
    name = "polars"

    def check(self) -> None:
        """Polars is a requirement: it always runs."""

    def leftovers_drop(self, *, running: RunningAmong) -> list[str]:
        """Nothing outlives a Polars run (its staging tables die with the session)."""
        return []

    def stage_file(
        self,
        ctx: StageContext,
        *,
        schema: Schema,
        options: IngestOptions,
        progress: ProgressReporter | None,
        hooks: list[IngestHook],
    ) -> StagedFile:
        """Stream the file into the staging tables, batch by batch."""
        setup = file_setup(ctx, schema=schema, options=options, progress=progress)
        repeats_count(ctx, setup, schema=schema, batch_size=options.batch_size)
        extra: dict[str, None] = dict.fromkeys(setup.mapping.extra if setup.mapping else ())
        staged_rows = 0
        ctx.stage = STAGE_READ
        for batch in setup.reader.batches():
            setup.outcome.counts.quarantined += set_aside_stage(batch.set_aside, tally=setup.tally)
            if batch.frame.height:
                staged_rows += _stage_batch(ctx, batch, setup=setup, schema=schema, hooks=hooks, extra=extra)
            if progress:
                progress.advance(bytes_read=setup.reader.bytes_read, rows=staged_rows)
            del batch  # at most one batch alive at a time
        _lines_fix(ctx, setup=setup, hooks=hooks)
        setup.timings["read_transform_stage"] = round(time.monotonic() - setup.started, 3)
        return StagedFile(
            outcome=setup.outcome,
            reader=setup.reader,
            tally=setup.tally,
            extra=list(extra),
            ingested_at=setup.ingested_at,
        )


def _lines_fix(ctx: StageContext, *, setup: FileSetup, hooks: list[IngestHook]) -> None:
    """Hand the hooks the real lines of the records they got with provisional ones (the load
    fixes its staging table with the same :class:`dataflow.readers.LineFix`)."""
    fix = setup.reader.line_fix()
    if fix is None or not fix.shifts:
        return
    ctx.stage = STAGE_HOOKS
    for hook in hooks:
        if hook.wants_batches(ctx):
            hook.lines_fixed(ctx, fix=fix)
    ctx.stage = STAGE_READ


def _stage_batch(
    ctx: StageContext,
    batch: RawBatch,
    *,
    setup: FileSetup,
    schema: Schema,
    hooks: list[IngestHook],
    extra: dict[str, None],
) -> int:
    """Map, transform, check, quarantine, stage and hand one batch to the hooks; rows staged."""
    mapping = setup.mapping
    if mapping is None:  # JSON whose first records were all set aside
        columns = [c for c in batch.frame.columns if c != LINE_COLUMN]
        mapping = mapping_late(ctx, setup, columns=columns, schema=schema)
    extra.update(dict.fromkeys(extra_columns(batch.frame.columns, mapping=mapping)))
    ctx.stage = STAGE_TRANSFORM
    clean = stage_transform(batch=batch, mapping=mapping, schema=schema, config=setup.config)
    if setup.repeated:
        clean = with_repeated(clean, setup.repeated)
    ctx.stage = STAGE_QUALITY
    quality = stage_quality(frame=clean, rules=setup.tally.ruleset)
    setup.tally.add(quality.checked)
    setup.outcome.counts.quarantined += quarantine_stage(quality.quarantined, raw=batch.frame)
    ctx.stage = STAGE_LOAD
    load.staging_copy(frame=quality.valid, schema=schema)
    ctx.stage = STAGE_HOOKS
    for hook in hooks:
        if hook.wants_batches(ctx):
            hook.on_batch(ctx, raw=batch.frame, valid=quality.valid)
    ctx.stage = STAGE_READ
    return quality.valid.height
