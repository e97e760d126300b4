"""Where the quality stage raises its alerts: one function the pipeline calls once per run.

A crossed ``warn_above`` is logged and sent as a ``warn_threshold`` alert
(``alerts`` sends it at most once per run, and never raises); a rejection
is only logged here: the pipeline alerts every rejected run.
"""

from __future__ import annotations

import structlog

from alerts import AlertCause, alert_run
from dataflow.quality.thresholds import Outcome, Verdict
from ingestion.models import IngestionRun

log = structlog.get_logger("dataflow.quality")


def quality_alert(*, run: IngestionRun, verdict: Verdict) -> None:
    """Tell people about a run whose invalid share crossed a threshold (no-op when ``ok``)."""
    if verdict.outcome == Outcome.OK:
        return
    log.warning(
        "quality.threshold_crossed",
        run_id=run.pk,
        file=run.filename,
        outcome=str(verdict.outcome),
        invalid=verdict.invalid,
        total=verdict.total,
        share=round(verdict.share, 2),
    )
    if verdict.outcome == Outcome.WARN:  # a rejection is alerted by the pipeline, as every rejection
        alert_run(run=run, cause=AlertCause.WARN_THRESHOLD, error=verdict.message, stage="quality")
