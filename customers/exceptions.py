"""The API's exception handler: DRF's, plus a JSON ``503`` with ``Retry-After`` while the database is down.

An outage is not a bug of ours nor of the client's: the client is told to
retry, and the log gets one line (no traceback, no connection parameters).
"""

from __future__ import annotations

from typing import Any

import structlog
from django.db import InterfaceError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

log = structlog.get_logger("customers.api")

DATABASE_UNAVAILABLE = "The service is temporarily unavailable (database unreachable); retry later."
RETRY_AFTER_SECONDS = 30


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OperationalError | InterfaceError):
        request = context.get("request")
        log.warning("api.database_unavailable", path=getattr(request, "path", ""), error=_first_line(exc))
        return Response(
            {"detail": DATABASE_UNAVAILABLE},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return exception_handler(exc, context)
