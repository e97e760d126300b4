"""The API's exception handler: DRF's, plus a JSON ``503`` with ``Retry-After`` while the database is
down or behind the code (migrations not applied) and a ``400`` for a value the database refuses;
and a middleware refusing NUL bytes in URLs.

An outage is not a bug of ours nor of the client's: the client is told to
retry, and the log gets one line (no traceback, no connection parameters).
"""

from __future__ import annotations

from typing import Any

import structlog
from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.db import DatabaseError, DataError, InterfaceError, OperationalError, ProgrammingError
from django.http import HttpRequest, JsonResponse
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, Throttled
from rest_framework.response import Response
from rest_framework.views import exception_handler

from common.schema import not_migrated_message

log = structlog.get_logger("customers.api")

DATABASE_UNAVAILABLE = "The service is temporarily unavailable (database unreachable); retry later."
DATABASE_NOT_MIGRATED = "The service is temporarily unavailable (database being upgraded); retry later."
RETRY_AFTER_SECONDS = 30
BAD_VALUE = "A value in the request cannot be used (the database refused it); check the parameters."
NUL_IN_PATH = "Not found: the path holds a NUL character (%00)."
NUL_IN_VALUE = "Remove the NUL character (%00): no value can contain one."
TOO_MANY_PARAMETERS = "Too many query parameters: at most {limit}."


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _refused_anonymous_throttled(context: dict[str, Any]) -> Response | None:
    """A 401 (no token, or a bad one) is charged to the anonymous budget of the client's address:
    DRF decides it before the throttles run, so guessing tokens would cost nothing otherwise.
    A ``429`` once that budget is spent."""
    from customers.throttles import ApiAnonThrottle  # DRF's settings import this module first

    request, view = context.get("request"), context.get("view")
    if request is None or view is None or getattr(view, "throttle_classes", None) == ():
        return None
    throttle = ApiAnonThrottle()
    if throttle.allow_request(request, view):
        return None
    wait = throttle.wait()
    return Response(
        {"detail": Throttled(wait).detail},
        status=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(int(wait or 1))},
    )


def _database_answer(exc: Exception, context: dict[str, Any]) -> Response | None:
    """A ``503`` with ``Retry-After`` for a database down or behind the code; None for anything else."""
    if isinstance(exc, OperationalError | InterfaceError):
        request = context.get("request")
        log.warning("api.database_unavailable", path=getattr(request, "path", ""), error=_first_line(exc))
        detail = DATABASE_UNAVAILABLE
    elif isinstance(exc, ProgrammingError) and (behind := not_migrated_message()) is not None:
        # Code ahead of its database (deployed before `migrate` ran): the operator's to fix, not a bug.
        log.warning("api.database_not_migrated", error=behind)
        detail = DATABASE_NOT_MIGRATED
    else:
        return None
    return Response(
        {"detail": detail},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, AuthenticationFailed | NotAuthenticated):
        try:
            throttled = _refused_anonymous_throttled(context)
        except DatabaseError as failure:  # its counter is in the database when there is no Redis
            answer = _database_answer(failure, context)
            if answer is None:
                raise
            return answer
        if throttled is not None:
            return throttled
    answer = _database_answer(exc, context)
    if answer is not None:
        return answer
    if isinstance(exc, DataError):  # a value only the database could judge (out of range, bad text)
        log.warning("api.bad_value", error=_first_line(exc))
        return Response({"detail": BAD_VALUE}, status=status.HTTP_400_BAD_REQUEST)
    return exception_handler(exc, context)


def bad_url_middleware(get_response: Any) -> Any:
    """A URL no view can answer is answered before any view, in JSON.

    A NUL byte: no text value can hold one (PostgreSQL refuses it); in the path a 404 (nothing
    is named so), in a parameter a 400 naming it. More parameters than
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS``: a 400 (Django raises when a view first reads them, and its
    debug page then fails reading them again: a 500 with ``DEBUG`` on).
    """

    def middleware(request: HttpRequest) -> Any:
        if "\x00" in request.path:
            return JsonResponse({"detail": NUL_IN_PATH}, status=404)
        try:
            request.GET  # noqa: B018  (parsed here, once, so that too many is the client's 400)
        except TooManyFieldsSent:
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            return JsonResponse({"detail": TOO_MANY_PARAMETERS.format(limit=limit)}, status=400)
        if "%00" in request.META.get("QUERY_STRING", ""):
            bad = sorted(name for name, values in request.GET.lists() if any("\x00" in v for v in values))
            bad += sorted(name for name in request.GET if "\x00" in name)
            if bad:
                return JsonResponse({name: [NUL_IN_VALUE] for name in bad}, status=400)
        return get_response(request)

    return middleware
