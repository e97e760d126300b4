"""Who may call a console view: staff (the admin's login), with one permission each.

Anyone else signed out or not staff is sent to the admin's login page; staff without the
permission get a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

RUNS_VIEW = "etl.view_ingestionrun"
"""Read runs, their reports, quarantined records and the dashboard."""
QUARANTINE_VIEW = "etl.view_quarantinedrecord"
"""Download a run's quarantined records."""
UPLOAD_FILE = "etl.upload_file"
"""Upload a file to ingest (the API's permission too)."""

View = Callable[..., HttpResponseBase]


def staff_view(*permissions: str) -> Callable[[View], View]:
    """Staff only (the admin's login otherwise), holding every one of ``permissions`` (else 403)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.has_perms(permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return admin.site.admin_view(checked)

    return decorate
