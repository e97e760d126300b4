"""Who may call a console view: staff (the admin's login), with one permission each.

Anyone else signed out or not staff is sent to the admin's login page; staff without the
permission get a 403 page in the admin's look naming what is missing and the role that holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from console.pages import message_page
from customers.permissions import ROLES

RUNS_VIEW = "etl.view_ingestionrun"
"""Read runs, their reports, quarantined records and the dashboard."""
QUARANTINE_VIEW = "etl.view_quarantinedrecord"
"""Download a run's quarantined records."""
UPLOAD_FILE = "etl.upload_file"
"""Upload a file to ingest (the API's permission too)."""

View = Callable[..., HttpResponseBase]

NOT_ALLOWED = (
    "Your account ({user}) lacks {missing}. An administrator grants it in the admin (Users or Groups){roles}."
)


def _described(permission: str) -> str:
    """``"Can view ingestion run" (etl.view_ingestionrun)``."""
    app_label, _, codename = permission.partition(".")
    found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    return f'"{found.name}" ({permission})' if found else permission


def not_allowed_message(user: Any, missing: list[str]) -> str:
    """One line: what the user lacks, and the roles whose group holds all of it."""
    roles = [f"{role} (group {group})" for role, (group, held) in ROLES.items() if set(missing) <= set(held)]
    return NOT_ALLOWED.format(
        user=user.get_username(),
        missing=" and ".join(_described(p) for p in missing),
        roles=f", e.g. with the role {' or '.join(roles)}" if roles else "",
    )


def staff_view(*permissions: str) -> Callable[[View], View]:
    """Staff only (the admin's login otherwise), holding every one of ``permissions`` (else 403)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            missing = [p for p in permissions if not request.user.has_perm(p)]
            if missing:
                message = not_allowed_message(request.user, missing)
                return message_page(request, title="Not allowed", message=message, status=403)
            return view(request, *args, **kwargs)

        return admin.site.admin_view(checked)

    return decorate
