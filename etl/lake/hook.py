"""The lake's pipeline hook: raw copy after fetch, processed records per batch, publish after commit.

Registered in ``etl.pipeline.HOOKS`` by :func:`lake_hook_register` (called from
the etl app's ``ready``). The three calls mirror the flow of one file:

- ``after_fetch``: the fetched bytes go to raw/ before any processing. A run
  whose raw copy cannot be kept fails (nothing is processed without it).
- ``on_batch``: each batch's loadable records, with the columns the file's
  mapping leaves unused (its extra columns) joined back by line, are spooled
  as Parquet in the work folder (bounded memory whatever the file size).
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
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    import polars as pl

# Light at import (the etl app registers the hook in every process); the lake's
# own modules are imported when a hook first runs.

SPOOL_FAILED = "FAILED"
SOURCE_LINE = "source_line"
"""The processed zone's name for the record's line in the file."""


def processed_frame(*, raw: pl.DataFrame, valid: pl.DataFrame, extras: list[str]) -> pl.DataFrame:
    """The batch's loadable records with the file's ``extras`` (unmapped columns) joined back by line."""
    from etl.readers.base import LINE_COLUMN

    extras = [c for c in extras if c != LINE_COLUMN and c not in valid.columns and c in raw.columns]
    frame = valid.drop([c for c in valid.columns if c.startswith("__") and c != LINE_COLUMN])
    if extras and LINE_COLUMN in frame.columns:
        frame = frame.join(raw.select([LINE_COLUMN, *extras]), on=LINE_COLUMN, how="left")
    return frame.rename({LINE_COLUMN: SOURCE_LINE}) if LINE_COLUMN in frame.columns else frame


class LakeHook:
    """``etl.pipeline.PipelineHook`` of the lake (duck-typed on the pipeline's ``StageContext``)."""

    def __init__(self) -> None:
        self._failed: dict[int, str] = {}
        """Run id → why its processed records could not be spooled."""

    def _spool_root(self, ctx: Any) -> Path:
        return (
            Path(ctx.options.work_dir if ctx.options is not None else settings.INGEST_WORK_DIR)
            / ".lake-spool"
        )

    def _spool(self, ctx: Any) -> Path:
        return self._spool_root(ctx) / f"run-{ctx.run.pk}"

    def _publishes(self, ctx: Any) -> bool:
        return ctx.run is not None and not (ctx.options is not None and ctx.options.dry_run)

    def recover(self, ctx: Any) -> None:
        if not settings.LAKE_ENABLED:
            return
        from etl.lake.sync import lake_pending_complete

        lake_pending_complete(spool_root=self._spool_root(ctx))

    def in_commit(self, ctx: Any) -> None:
        if settings.LAKE_ENABLED and self._publishes(ctx):
            from etl.models import LakeStatus

            ctx.run.lake_status = LakeStatus.PENDING  # saved with the run's status, same transaction

    def after_fetch(self, ctx: Any) -> None:
        if not settings.LAKE_ENABLED:
            return
        from etl.lake.zones import lake_raw_write

        ctx.stage = "lake raw copy"
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
        from django.db.models import Q

        from etl.models import IngestionRun, LakeStatus, RunStatus

        ids = {int(p.name.removeprefix("run-")): p for p in folder.glob("run-*") if p.name[4:].isdigit()}
        running = set(
            IngestionRun.objects.filter(pk__in=ids)
            .filter(Q(status=RunStatus.RUNNING) | Q(lake_status=LakeStatus.PENDING))
            .values_list("pk", flat=True)
        )
        for run_id, path in ids.items():
            if run_id not in running:
                shutil.rmtree(path, ignore_errors=True)

    def on_batch(self, ctx: Any, *, raw: pl.DataFrame, valid: pl.DataFrame) -> None:
        if not settings.LAKE_ENABLED or not self._publishes(ctx) or valid.height == 0:
            return
        from etl.mapping import extra_columns

        spool = self._spool(ctx)
        if (spool / SPOOL_FAILED).exists():
            return
        try:
            spool.mkdir(parents=True, exist_ok=True)
            number = len(list(spool.glob("part-*.parquet")))
            extras = extra_columns(raw, mapping=ctx.mapping) if ctx.mapping is not None else []
            processed = processed_frame(raw=raw, valid=valid, extras=extras)
            processed.write_parquet(spool / f"part-{number:05d}.parquet")
        except Exception as exc:  # the lake never fails a load: recorded on the run after the commit
            with contextlib.suppress(OSError):
                (spool / SPOOL_FAILED).write_text(f"{type(exc).__name__}: {exc}".splitlines()[0])
            self._failed[ctx.run.pk] = f"processed records: {type(exc).__name__}: {exc}".splitlines()[0]

    def after_commit(self, ctx: Any) -> None:
        if not self._publishes(ctx):
            return
        if not settings.LAKE_ENABLED:  # recorded without importing the lake's heavy modules
            from etl.models import IngestionRun, LakeStatus

            IngestionRun.objects.filter(pk=ctx.run.pk).update(lake_status=LakeStatus.DISABLED)
            return
        from etl.lake.sync import lake_publish_run, lake_step_failed

        spool = self._spool(ctx)
        try:
            failed = self._failed.pop(ctx.run.pk, None)
            if failed is not None:  # the run's keys are incomplete: the next run or `lake sync` rebuilds
                lake_step_failed(run=ctx.run, error=failed)
            else:
                lake_publish_run(run=ctx.run, processed_parts=sorted(spool.glob("part-*.parquet")))
        finally:
            shutil.rmtree(spool, ignore_errors=True)


def lake_hook_register() -> None:
    """Add the lake's hook to the pipeline once (idempotent)."""
    from etl import pipeline

    if not any(isinstance(h, LakeHook) for h in pipeline.HOOKS):
        pipeline.HOOKS.append(LakeHook())
