"""The lake's ingest hook: raw copy after fetch, processed records per batch, publish after commit.

Named in the ``INGEST_HOOKS`` setting, which the ingest command passes to
every ingest (:func:`ingestion.hooks.ingest_hooks`). The calls mirror the flow of one file:

- ``after_fetch``: the fetched bytes go to raw/ before any processing. A run
  whose raw copy cannot be kept fails (nothing is processed without it).
- ``on_batch``: each batch's loadable records, with the columns the file's
  mapping leaves unused (its extra columns) joined back by line, are spooled
  as Parquet in the work folder (bounded memory whatever the file size).
  ``lines_fixed`` corrects their lines once a CSV with ragged or blank rows is
  read (as the load corrects its staging table). An engine that writes
  Parquet itself (Spark) puts the run's parts in ``parts_folder`` instead.
- ``changes_sink``: the load's upsert writes the rows it changes into the
  outbox (:mod:`lake.outbox`) in its own transaction, or, into an empty
  table, a rebuild request;
- ``in_commit``: the run's ``lake_status`` becomes ``pending`` in the load's own
  transaction: a process killed after the commit leaves the lake step owed,
  never forgotten;
- ``after_commit``: :func:`lake_publish_run` (processed/ and curated/); it
  never raises and records its outcome on the run;
- ``recover``: at the start of every ingest (skipped ones too), completes the
  pending runs whose ingest died (:func:`lake_pending_complete`).
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.db.models import Q

from common.errors import error_line
from customers.models import Customer
from dataflow.context import HookBase, StageContext
from dataflow.mapping import extra_columns
from dataflow.processed import SOURCE_LINE, processed_frame
from ingestion.models import IngestionRun, LakeStatus, RunStatus
from lake.outbox import CHANGE_TABLE, capture_lock_shared, rebuild_request

if TYPE_CHECKING:
    import polars as pl

    from dataflow.readers import LineFix

# The lake's heavy modules (pyiceberg, object stores) are imported only when the lake is on.

SPOOL_FAILED = "FAILED"
LAKE_RAW_COPY = "lake raw copy"
"""The stage a failed raw copy names."""


class LakeHook(HookBase):
    """The lake's :class:`dataflow.context.IngestHook`."""

    def __init__(self) -> None:
        self._failed: dict[int, str] = {}
        """Run id → why its processed records could not be spooled."""

    def _spool_root(self, ctx: StageContext) -> Path:
        return (
            Path(ctx.options.work_dir if ctx.options is not None else settings.INGEST_WORK_DIR)
            / ".lake-spool"
        )

    def _spool(self, ctx: StageContext) -> Path:
        assert ctx.run is not None
        return self._spool_root(ctx) / f"run-{ctx.run.pk}"

    def _publishes(self, ctx: StageContext) -> bool:
        return ctx.run is not None and not (ctx.options is not None and ctx.options.dry_run)

    def wants_batches(self, ctx: StageContext) -> bool:
        return bool(settings.LAKE_ENABLED) and self._publishes(ctx)

    def parts_folder(self, ctx: StageContext) -> Path | None:
        return self._spool(ctx) if self.wants_batches(ctx) else None

    def recover(self, ctx: StageContext) -> None:
        if (
            not settings.LAKE_ENABLED
            or not IngestionRun.objects.filter(lake_status=LakeStatus.PENDING).exists()
        ):
            return  # nothing owed: the lake's heavy modules stay unimported
        from lake.sync import lake_pending_complete

        lake_pending_complete(spool_root=self._spool_root(ctx))

    def changes_sink(self, ctx: StageContext) -> str | None:
        """The outbox, for a load into a non-empty customers table; into an empty one, a rebuild
        request instead (the lake step reads the table whole: nothing to capture row by row)."""
        if not (settings.LAKE_ENABLED and self._publishes(ctx)):
            return None
        run = cast(IngestionRun, ctx.run)
        capture_lock_shared()
        if not Customer.objects.exists():
            rebuild_request(run_id=run.pk)
            return None
        return CHANGE_TABLE

    def in_commit(self, ctx: StageContext) -> None:
        if settings.LAKE_ENABLED and self._publishes(ctx):
            run = cast(IngestionRun, ctx.run)  # the orchestrator's run: saved with its status
            run.lake_status = LakeStatus.PENDING  # same transaction

    def after_fetch(self, ctx: StageContext) -> None:
        if not settings.LAKE_ENABLED:
            return
        from lake.zones import lake_raw_write

        ctx.stage = LAKE_RAW_COPY
        lake_raw_write(
            path=ctx.path,
            sha256=ctx.sha256,
            source=ctx.source,
            filename=ctx.filename,
            run_id=ctx.run.pk if ctx.run is not None else None,
        )
        if self._publishes(ctx):
            self._spools_clear(self._spool(ctx).parent)

    def _spools_clear(self, folder: Path) -> None:
        """Drop the spools of runs that are over (rejected and failed runs never publish theirs;
        a pending run's spool is kept for its lake step)."""
        if not folder.is_dir():
            return
        ids = {int(p.name.removeprefix("run-")): p for p in folder.glob("run-*") if p.name[4:].isdigit()}
        running = set(
            IngestionRun.objects.filter(pk__in=ids)
            .filter(Q(status=RunStatus.RUNNING) | Q(lake_status=LakeStatus.PENDING))
            .values_list("pk", flat=True)
        )
        for run_id, path in ids.items():
            if run_id not in running:
                shutil.rmtree(path, ignore_errors=True)

    def on_batch(self, ctx: StageContext, *, raw: pl.DataFrame, valid: pl.DataFrame) -> None:
        if not self.wants_batches(ctx) or valid.height == 0:
            return
        assert ctx.run is not None
        spool = self._spool(ctx)
        if (spool / SPOOL_FAILED).exists():
            return
        try:
            spool.mkdir(parents=True, exist_ok=True)
            number = len(list(spool.glob("part-*.parquet")))
            extras = extra_columns(raw.columns, mapping=ctx.mapping) if ctx.mapping is not None else []
            processed = processed_frame(raw=raw, valid=valid, extras=extras)
            processed.write_parquet(spool / f"part-{number:05d}.parquet")
        except Exception as exc:  # the lake never fails a load: recorded on the run after the commit
            with contextlib.suppress(OSError):
                (spool / SPOOL_FAILED).write_text(error_line(exc))
            self._failed[ctx.run.pk] = f"processed records: {error_line(exc)}"

    def lines_fixed(self, ctx: StageContext, *, fix: LineFix) -> None:
        """Rewrite the spooled parts with the records' real lines (the part's rows keep their order)."""
        import polars as pl

        from dataflow.readers.csv_arrow import lines_shift

        spool = self._spool(ctx)
        if ctx.run is None or (spool / SPOOL_FAILED).exists():
            return
        try:
            for part in sorted(spool.glob("part-*.parquet")):
                frame = pl.read_parquet(part)
                if SOURCE_LINE in frame.columns:
                    lines = lines_shift(frame.get_column(SOURCE_LINE).to_arrow(), fix.shifts)
                    fixed = pl.Series(SOURCE_LINE, lines).cast(frame.schema[SOURCE_LINE])
                    frame.with_columns(fixed).write_parquet(part)
        except Exception as exc:  # as on_batch: recorded on the run after the commit
            with contextlib.suppress(OSError):
                (spool / SPOOL_FAILED).write_text(error_line(exc))
            self._failed[ctx.run.pk] = f"processed records: {error_line(exc)}"

    def after_commit(self, ctx: StageContext) -> None:
        if not self._publishes(ctx):
            return
        run = cast(IngestionRun, ctx.run)  # the orchestrator's run: this hook writes its lake status
        if not settings.LAKE_ENABLED:  # recorded without importing the lake's heavy modules
            IngestionRun.objects.filter(pk=run.pk).update(lake_status=LakeStatus.DISABLED)
            return
        from lake.sync import lake_publish_run, lake_step_failed

        spool = self._spool(ctx)
        try:
            failed = self._failed.pop(run.pk, None)
            if failed is not None:  # the run's keys are incomplete: the next run or `lake sync` rebuilds
                lake_step_failed(run=run, error=failed)
            else:
                lake_publish_run(run=run, processed_parts=sorted(spool.glob("part-*.parquet")))
        finally:
            shutil.rmtree(spool, ignore_errors=True)
