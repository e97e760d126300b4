"""A run's report page and its quarantine CSV (staff with the view permissions)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse

from console.access import QUARANTINE_VIEW, RUNS_VIEW, staff_view
from console.pages import message_page, page
from console.report_data import report_context
from dataflow.quality.report import QUARANTINE_CSV_COLUMNS, quarantine_csv_row
from ingestion.models import IngestionRun
from ingestion.quality_selectors import quarantine_for_runs

NO_SUCH_RUN = "there is no run {run_id}"
CSV_CHUNK = 2000
MAX_ID = 2**63 - 1
"""Beyond a bigint: no such run (never a database error)."""


def _run_or_404(request: HttpRequest, run_id: int) -> IngestionRun | HttpResponse:
    run = IngestionRun.objects.filter(pk=run_id).first() if run_id <= MAX_ID else None
    if run is None:
        return message_page(
            request, title="No such run", message=NO_SUCH_RUN.format(run_id=run_id), status=404
        )
    return run


@staff_view(RUNS_VIEW)
def run_report(request: HttpRequest, run_id: int) -> HttpResponse:
    """Staff who may view runs: the run's report; it refreshes itself while the run is queued or running."""
    run = _run_or_404(request, run_id)
    if isinstance(run, HttpResponse):
        return run
    values = request.user.has_perm(QUARANTINE_VIEW)  # the examples quote partner values
    return page(
        request,
        "console/report.html",
        title=f"Run {run.pk}: {run.filename}",
        **report_context(run, values=values),
    )


class _Line:
    """The file-like object csv.writer writes one row into (streamed, never the whole file in memory)."""

    def write(self, text: str) -> str:
        return text


def _rows(run_id: int) -> Iterator[str]:
    writer: Any = csv.writer(_Line())
    yield writer.writerow(QUARANTINE_CSV_COLUMNS)
    for record in quarantine_for_runs(run_ids=[run_id]).iterator(chunk_size=CSV_CHUNK):
        yield writer.writerow(quarantine_csv_row(record))


@staff_view(RUNS_VIEW, QUARANTINE_VIEW)
def quarantine_csv(request: HttpRequest, run_id: int) -> HttpResponseBase:
    """Staff who may view runs and quarantined records: the run's quarantined records as CSV,
    streamed, with the escaping of ``ingest --quarantine-csv`` (no cell runs as a formula)."""
    run = _run_or_404(request, run_id)
    if isinstance(run, HttpResponse):
        return run
    response = StreamingHttpResponse(_rows(run.pk), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="quarantine-run-{run.pk}.csv"'
    return response
