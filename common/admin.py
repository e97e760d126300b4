"""Admin building blocks: read-only admins of records only the code writes (runs, quarantined
records, alerts, customers), and a date hierarchy that answers any URL without a 500."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
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


class DateBoundsChangeList(ChangeList):
    """A change list whose date hierarchy refuses a day beyond the calendar like any bad filter.

    Django builds the hierarchy's bounds from ``<field>__year/__month/__day`` and only catches
    ``ValueError`` around the first day: a year of 25 digits (``OverflowError``) or the last year
    of the calendar (its end, year 10000, is a ``ValueError`` outside that ``try``) was a 500. Here
    they are the admin's usual answer to a bad filter (the list with "?e=1")."""

    def get_filters(self, request: HttpRequest) -> Any:
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class DateHierarchyAdminMixin:
    """Before ``admin.ModelAdmin`` in the bases of an admin with a ``date_hierarchy``."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return DateBoundsChangeList


def date_hierarchies_bound(site: AdminSite) -> list[str]:
    """Register anew, with :class:`DateHierarchyAdminMixin`, every admin of ``site`` that has a date
    hierarchy without it: third-party ones (django-axes's three) had the same 500. Returns the
    models' labels. Run after the admins are discovered (an ``AppConfig.ready``)."""
    bound = []
    for model, model_admin in list(site._registry.items()):
        if not model_admin.date_hierarchy or isinstance(model_admin, DateHierarchyAdminMixin):
            continue
        admin_class = type(model_admin)
        site.unregister(model)
        site.register(model, type(admin_class.__name__, (DateHierarchyAdminMixin, admin_class), {}))
        bound.append(model._meta.label)
    return bound
