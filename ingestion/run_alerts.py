"""Alerts on runs failed outside their own ingest: a dead process's run, an upload job given up.

An ingest alerts on its own failures as they happen (:mod:`ingestion.pipeline`). A run whose
process was killed (``kill -9``, the OOM killer, a lost machine) cannot: it is found dead later,
by the next ingest or by a worker's periodic check, and failed there. That finder alerts, once per
run (the alert record's claim), so a killed load is never only a line in a table.
"""

from __future__ import annotations

from typing import Any

from alerts.base import AlertCause
from alerts.service import alert_run
from ingestion.models import IngestionRun
from ingestion.services import StaleRuns, runs_fail_stale


def runs_alert_failed(run_ids: list[int]) -> None:
    """A ``run_failed`` alert for each of ``run_ids``, its error message as the error."""
    for run in IngestionRun.objects.filter(pk__in=run_ids).order_by("pk"):
        alert_run(run=run, cause=AlertCause.RUN_FAILED, error=run.error_message)


def runs_settle_stale(*, log: Any) -> StaleRuns:
    """:func:`ingestion.services.runs_fail_stale`, said on ``log`` (the finder's logger) and the
    failed runs alerted: what the next ingest and the worker's periodic check both do."""
    stale = runs_fail_stale()
    if stale.failed:
        log.warning("ingest.stale_runs_failed", run_ids=stale.failed)
        runs_alert_failed(stale.failed)
    if stale.requeued:
        log.warning("upload.requeued", run_ids=stale.requeued)
    return stale
