"""The admin of records only the code writes (runs, quarantined records, alerts): people read them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Before ``admin.ModelAdmin`` or an inline in the bases: view only; nothing is added, changed
    or deleted through the admin (the view permission still decides who may look)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
