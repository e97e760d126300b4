"""Source steps around the pipeline that still leave an audit trail.

- ``ingest --all`` lists the source before any file is fetched; when that
  fails (after the retries, or at once for a refused login or host key) there
  is no file to hang a run on, so the failure is recorded as a run named
  :data:`LISTING_NAME`, and alerted.
- The after-success action (move or delete the remote file) runs once the
  load is committed; if it fails, the load stands and the run gets a warning
  (the next ``--all`` sees the file again and skips it: same sha256).
"""

from __future__ import annotations

import traceback

import structlog

from alerts import AlertCause, alert_run
from common.errors import error_brief
from dataflow.sources.base import RemoteFile, Source, SourceError
from ingestion.models import IngestionRun, RunStatus
from ingestion.services import RunOutcome, run_record

log = structlog.get_logger("etl.sources.audit")  # its name before the move (#17): log filters use it

LISTING_NAME = "(listing)"
AFTER_SUCCESS_FAILED = "after-success action on the source failed: {problem}"
LIST_FAILED = "{source}: listing the source failed: {problem}"


def source_list_recorded(*, source: Source) -> list[RemoteFile]:
    """``source.list_files()``; a failure becomes a failed run and a ``fetch_failed`` alert, re-raised."""
    try:
        return source.list_files()
    except SourceError as exc:
        message = LIST_FAILED.format(source=source.kind, problem=error_brief(exc))
        run = run_record(
            source=source.kind,
            filename=LISTING_NAME,
            sha256="",
            size=None,
            status=RunStatus.FAILED,
            outcome=RunOutcome(
                error_message=message, error_trace=traceback.format_exc(), report={"stage": "list"}
            ),
        )
        alert_run(run=run, cause=AlertCause.FETCH_FAILED, error=exc, stage="list")
        raise


def source_after_success(*, source: Source, run: IngestionRun) -> None:
    """The source's after-success action for the file of a loaded (or already loaded) run."""
    try:
        source.after_success(run.filename)
    except SourceError as exc:
        warning = AFTER_SUCCESS_FAILED.format(problem=error_brief(exc))
        log.warning("source.after_success_failed", run_id=run.pk, file=run.filename, error=warning)
        run.warnings = [*run.warnings, warning]
        run.save(update_fields=["warnings"])
