"""Reads for the quality views: a run's quality report, quarantined records of runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from ingestion.models import IngestionRun, QuarantinedRecord


def run_quality_report(*, run_id: int) -> dict[str, Any]:
    """The ``quality`` part of the run's report (empty when the run never got that far)."""
    report = IngestionRun.objects.filter(pk=run_id).values_list("report", flat=True).first() or {}
    return report.get("quality") or {}


def run_warnings(*, run_id: int) -> list[str]:
    """The run's warnings, in the order they were raised."""
    warnings = IngestionRun.objects.filter(pk=run_id).values_list("warnings", flat=True).first()
    return [str(w) for w in warnings or []]


def quarantine_for_runs(*, run_ids: Iterable[int]) -> QuerySet[QuarantinedRecord]:
    """Quarantined records of ``run_ids`` in run and file order, with their run."""
    return (
        QuarantinedRecord.objects.filter(run_id__in=list(run_ids))
        .select_related("run")
        .order_by("run_id", "line_number", "id")
    )
