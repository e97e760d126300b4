"""What the ingestion app knows of an upload's job in the task queue, below the modules that
queue it (:mod:`ingestion.uploads`), run it (:mod:`ingestion.tasks`) and settle its run
(:mod:`ingestion.services`)."""

from __future__ import annotations

from procrastinate.jobs import Status

UPLOAD_SOURCE = "upload"
"""``IngestionRun.source`` of an uploaded file."""
INGEST_UPLOAD_TASK = "ingest_upload"
"""The worker's task that ingests an accepted upload (:func:`ingestion.tasks.ingest_upload`)."""


def upload_runs_to_retry(run_ids: list[int]) -> set[int]:
    """Of the upload runs ``run_ids``, those whose job will run again: waiting (``todo``, a retry
    included) or ``doing`` with its worker dead (a live worker's stalled-job check retries it, or
    gives it up, which fails the run: :func:`ingestion.tasks.settle_ended_uploads`)."""
    if not run_ids:
        return set()
    from procrastinate.contrib.django.models import ProcrastinateJob  # an app's model: not at import

    jobs = ProcrastinateJob.objects.filter(
        task_name=INGEST_UPLOAD_TASK,
        status__in=[Status.TODO.value, Status.DOING.value],
        args__run_id__in=run_ids,
    )
    return {int(run_id) for run_id in jobs.values_list("args__run_id", flat=True)}
