"""The cron settings of the worker (issue #15): ``INGEST_SCHEDULE``, ``WORKER_STALLED_CHECK`` and
``LAKE_MAINTENANCE_SCHEDULE`` (issue #16).

Checked when the settings load, so a typo stops start-up with one line naming the
variable (:func:`config.env.env`), never a worker that silently polls nothing.
"""

from __future__ import annotations

from croniter import croniter  # type: ignore[import-untyped]  # no stubs for 7.x

OFF = "off"
"""The value that schedules nothing (an empty value means the default, as for every setting)."""
SCHEDULED_SOURCES = ("local", "sftp", "s3")
"""The sources a schedule may poll (``INGEST_SOURCE``'s choices)."""


def parse_cron(value: str) -> str:
    """A cron expression: 5 fields (minute hour day month weekday), or 6 with seconds last."""
    expression = " ".join(value.split())
    if len(expression.split()) not in (5, 6) or not croniter.is_valid(expression):
        raise ValueError(f"{expression!r} is not a cron expression such as '*/15 * * * *'")
    return expression


def parse_cron_or_off(value: str) -> str:
    """A cron expression, or ``off`` (returned as ``""``: nothing scheduled)."""
    if value.strip().lower() == OFF:
        return ""
    return parse_cron(value)


def parse_schedule(value: str) -> dict[str, str]:
    """``local=*/15 * * * *;sftp=0 * * * *`` → ``{"local": "*/15 * * * *", "sftp": "0 * * * *"}``."""
    schedule: dict[str, str] = {}
    for entry in (part.strip() for part in value.split(";")):
        if not entry:
            continue
        kind, equals, cron = entry.partition("=")
        kind = kind.strip().lower()
        if not equals or kind not in SCHEDULED_SOURCES:
            raise ValueError(
                f"{entry!r}: expected <source>=<cron> with a source among {', '.join(SCHEDULED_SOURCES)}"
            )
        if kind in schedule:
            raise ValueError(f"{kind}: scheduled twice (one cron expression per source)")
        schedule[kind] = parse_cron(cron)
    return schedule
