"""Reads on ingestion runs."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.db.models import Count, QuerySet

from ingestion.models import IngestionRun, RunStatus


def run_loaded(*, sha256: str) -> int | None:
    """The id of the run that loaded a file with these exact bytes (not a dry run), if any."""
    return (
        IngestionRun.objects.filter(sha256=sha256, status=RunStatus.SUCCEEDED, dry_run=False)
        .order_by("-finished_at")
        .values_list("id", flat=True)
        .first()
    )


def runs_running() -> QuerySet[IngestionRun]:
    return IngestionRun.objects.filter(status=RunStatus.RUNNING)


def runs_running_among(ids: list[int]) -> set[int]:
    """Of the runs ``ids``, those still ``running``."""
    return set(runs_running().filter(pk__in=ids).values_list("pk", flat=True))


class SettledName(NamedTuple):
    """The last run that loaded or rejected a file of this name (not a dry run)."""

    run_id: int
    status: str
    finished_at: datetime


def run_settled_names(*, source: str) -> dict[str, SettledName]:
    """File names of a source with the last run that loaded or rejected them (for ``ingest --all``:
    a file unchanged since is not taken again; a failed run's file is, its fault may have passed)."""
    rows = (
        IngestionRun.objects.filter(
            source=source, status__in=[RunStatus.SUCCEEDED, RunStatus.REJECTED], dry_run=False
        )
        .exclude(finished_at=None)
        .order_by("filename", "-finished_at", "-pk")
        .distinct("filename")
        .values_list("filename", "pk", "status", "finished_at")
    )
    return {
        name: SettledName(run_id, status, finished_at)
        for name, run_id, status, finished_at in rows
        if finished_at is not None  # excluded above: for the type checker
    }


def run_that_loaded(*, filename: str, at: datetime) -> IngestionRun | None:
    """The run that last wrote a customer whose ``source_file`` and ``ingested_at`` are these.

    Runs stamp ``loaded_at`` with the ``ingested_at`` they write; a run from before that field
    is found by its time window (the stamp is taken after the run starts, before it finishes).
    """
    runs = IngestionRun.objects.filter(filename=filename, dry_run=False)
    stamped = runs.filter(loaded_at=at).order_by("-id").first()
    if stamped is not None:
        return stamped
    return (
        runs.filter(status=RunStatus.SUCCEEDED, loaded_at=None, started_at__lte=at, finished_at__gte=at)
        .order_by("-id")
        .first()
    )


def runs_started_since(*, source: str, since: datetime) -> dict[str, int]:
    """How many runs of ``source`` started at or after ``since``, per status (only those present)."""
    rows = (
        IngestionRun.objects.filter(source=source, started_at__gte=since)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by("status")
    )
    return {str(status): n for status, n in rows}


def runs_visible(*, every: bool, username: str, joined: datetime | None) -> QuerySet[IngestionRun]:
    """Every run, or only those ``username`` uploaded (a command's or a schedule's runs have none).

    ``requested_by`` keeps a user name, not the user: runs queued before ``joined`` (the user's
    creation) belong to an earlier user of that name, deleted since, and stay hidden.
    """
    runs = IngestionRun.objects.all()
    if every:
        return runs
    own = runs.filter(requested_by=username).exclude(requested_by="")
    return own if joined is None else own.filter(queued_at__gte=joined)
