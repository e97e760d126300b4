"""The workers' lake maintenance (issue #16): ``manage.py lake maintenance`` on a schedule.

Registered as a periodic task of the workers (``manage.py worker``) with the cron of
``LAKE_MAINTENANCE_SCHEDULE`` (default 03:30 daily), only while ``LAKE_ENABLED``. One
tick is deferred once whatever the number of workers (the queue's periodic-defer table),
at most one job waits and one runs (``queueing_lock``, ``lock``); the lake writer lock
inside makes the runs' lake steps wait for it, as the command does.
"""

from __future__ import annotations

import structlog
from django.conf import settings
from procrastinate.blueprints import Blueprint
from procrastinate.contrib.django import app

from common.errors import error_line
from common.worker import task_connection
from config.redaction import redact
from lake.config import NAMESPACE

log = structlog.get_logger("etl.lake.maintenance")

LAKE_MAINTENANCE_TASK = "lake_maintenance"
LAKE_MAINTENANCE_PERIODIC = "lake"
"""The periodic id of the scheduled maintenance (the queue's key of its ticks)."""


@app.task(
    name=LAKE_MAINTENANCE_TASK,
    lock=LAKE_MAINTENANCE_TASK,
    queueing_lock=LAKE_MAINTENANCE_TASK,
    pass_context=False,
)
def lake_maintenance_run(timestamp: int) -> str:
    """What ``manage.py lake maintenance`` runs; one line per table in the log. A failure (the
    catalog or the storage unreachable) fails the job, kept in ``procrastinate_jobs``; the next
    tick tries again."""
    # pyiceberg: imported by the task, not by the worker's start-up
    from lake.changelog import BASE
    from lake.maintenance import lake_maintenance

    with task_connection():
        try:
            reports = lake_maintenance()
        except Exception as exc:
            log.error("lake.maintenance_failed", scheduled_at=timestamp, error=redact(error_line(exc)))
            raise
    for report in reports:
        log.info("lake.maintained", scheduled_at=timestamp, **report.as_dict())
    merged = sum(r.changes_merged for r in reports if r.table == f"{NAMESPACE}.{BASE}")
    return f"{merged} change rows merged into the base, {len(reports)} tables maintained"


def maintenance_register(blueprint: Blueprint, *, cron: str, enabled: bool) -> None:
    """The periodic maintenance on ``cron`` (``LAKE_MAINTENANCE_SCHEDULE``); none when the lake is
    off or the schedule is ``off`` (``""``)."""
    if not (enabled and cron):
        return
    blueprint.periodic(
        cron=cron,
        periodic_id=LAKE_MAINTENANCE_PERIODIC,
        lock=LAKE_MAINTENANCE_TASK,
        queueing_lock=LAKE_MAINTENANCE_TASK,
    )(lake_maintenance_run)


maintenance_register(app, cron=settings.LAKE_MAINTENANCE_SCHEDULE, enabled=settings.LAKE_ENABLED)
