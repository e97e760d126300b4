"""Who may call what: a permission per kind of data, not just "authenticated" (issue #14).

- ``/api/customers/``: ``customers.view_customer`` (role ``customers``).
- ``/api/ingestion-runs/`` (runs and their quarantine): every run with ``etl.view_ingestionrun``
  or as staff (role ``operators``); only the runs of its own uploads with
  ``etl.view_own_ingestionrun`` (role ``uploaders``: a partner sees no other partner's runs).
- Partner values in runs (quarantined ``raw``/``raw_text``/``messages``, the report's
  examples): ``etl.view_quarantinedrecord`` (role ``operators``).
- ``POST /api/ingestions/`` (upload a file to ingest, issue #15): ``etl.upload_file`` (role
  ``uploaders``, which also reads the runs it starts, and those only).
- Error messages name server paths for staff only.

Superusers hold every permission. Roles are groups (:data:`ROLES`), granted with
``manage.py create_api_token USER --role ...`` or in the admin.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework.permissions import BasePermission

CUSTOMERS_VIEW = "customers.view_customer"
RUNS_VIEW = "etl.view_ingestionrun"
RUNS_VIEW_OWN = "etl.view_own_ingestionrun"
PARTNER_VALUES_VIEW = "etl.view_quarantinedrecord"
UPLOAD_FILE = "etl.upload_file"

ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "customers": ("customers-readers", (CUSTOMERS_VIEW,)),
    "operators": ("etl-operators", (RUNS_VIEW, PARTNER_VALUES_VIEW)),
    "uploaders": ("etl-uploaders", (UPLOAD_FILE, RUNS_VIEW_OWN)),
}
"""Role name → (group name, the permissions the group holds)."""


class CanViewCustomers(BasePermission):
    message = "You do not have permission to read customers (needs customers.view_customer)."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(CUSTOMERS_VIEW))


class CanViewRuns(BasePermission):
    """Every run (:func:`can_view_every_run`), or the runs of the caller's own uploads:
    the view narrows its queryset for the latter (another's run is then a 404)."""

    message = (
        "You do not have permission to read ingestion runs "
        "(staff, etl.view_ingestionrun, or etl.view_own_ingestionrun for your own uploads)."
    )

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        own = bool(user and user.is_authenticated and user.has_perm(RUNS_VIEW_OWN))
        return own or can_view_every_run(user)


def can_view_every_run(user: Any) -> bool:
    return bool(user and user.is_authenticated and (user.is_staff or user.has_perm(RUNS_VIEW)))


class CanUploadFiles(BasePermission):
    message = "You do not have permission to upload files to ingest (needs etl.upload_file)."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(UPLOAD_FILE))


def can_view_partner_values(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(PARTNER_VALUES_VIEW))


HIDDEN_REPORT_KEYS = frozenset({"example", "examples"})
"""Run report entries quoting partner values (rule failures' and outliers' examples)."""


def report_without_values(value: Any) -> Any:
    """A run report minus every example (each quotes a partner's value): what the API, the admin
    and the console show to whoever lacks ``PARTNER_VALUES_VIEW``."""
    if isinstance(value, dict):
        return {k: report_without_values(v) for k, v in value.items() if k not in HIDDEN_REPORT_KEYS}
    if isinstance(value, list):
        return [report_without_values(v) for v in value]
    return value


_SERVER_PATH = re.compile(r"(?<![\w:/.~-])(?:~|\.{1,2})?/(?:[^\s/'\"(),]+/)+([^\s/'\"(),:]+)")


def without_server_paths(text: str) -> str:
    """``text`` with every absolute or relative file path cut to its last part (URLs are kept)."""
    return _SERVER_PATH.sub(lambda m: m.group(1), text)
