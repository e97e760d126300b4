"""``GET /healthz``: liveness plus a real round trip to the database, migrated. No auth.

Callers get ``ok`` or ``unavailable`` only: the database's host, port or error
text is nothing an anonymous caller needs (issue #14); the error goes to the
log, one line.
"""

from __future__ import annotations

import structlog
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse

from common.errors import error_brief
from common.schema import not_migrated_message

log = structlog.get_logger("config.health")

HEALTHY = "ok"
UNAVAILABLE = "unavailable"


_migrated = False
"""Set once this process has seen its database with every migration applied: later requests skip
the check (reading the migrations took 50 ms the first time in a process, 6 ms after, against
a fraction of a millisecond for ``SELECT 1``)."""


def database_status() -> str:
    """``ok``, or ``error: <first line>`` (for the log, not for callers): unreachable, or not migrated
    (the code deployed before ``migrate`` ran: every API call would fail)."""
    global _migrated
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        if not _migrated:
            behind = not_migrated_message()
            if behind is not None:
                return f"error: {behind}"
            _migrated = True
    except DatabaseError as exc:
        return f"error: {error_brief(exc)}"
    return "ok"


def healthz(request: HttpRequest) -> JsonResponse:
    database = database_status()
    if database == "ok":
        return JsonResponse({"status": HEALTHY})
    log.warning("health.database_unavailable", error=database)
    return JsonResponse({"status": UNAVAILABLE}, status=503)
