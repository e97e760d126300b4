"""Read-only admin of quarantined records: filter by run and by rule code, search the reasons.

Registered by ``ingestion/admin.py`` (``from ingestion.quarantine_admin import QuarantinedRecordAdmin``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest

from common.admin import ReadOnlyAdminMixin
from ingestion.models import IngestionRun, QuarantinedRecord
from ingestion.run_display import reasons_text

RUN_CHOICES = 20
"""The run filter lists this many latest runs that quarantined something (any run id works in the URL)."""
CODE_CHOICES = 100


def _is_id(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "²", which ``int`` refuses (was a 500)."""
    return text.isascii() and text.isdigit()


class RunFilter(admin.SimpleListFilter):
    title = "run"
    parameter_name = "run"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        runs = IngestionRun.objects.filter(rows_quarantined__gt=0).order_by("-id")[:RUN_CHOICES]
        return [(str(run.pk), str(run)) for run in runs]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(run_id=int(value)) if _is_id(value) else queryset.none()


class RuleCodeFilter(admin.SimpleListFilter):
    title = "rule"
    parameter_name = "rule"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        table = QuarantinedRecord._meta.db_table
        run = request.GET.get("run", "")
        where, params = ("WHERE run_id = %s", [int(run)]) if _is_id(run) else ("", [])
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT code FROM (SELECT jsonb_array_elements_text(rule_codes) AS code "
                f"FROM {connection.ops.quote_name(table)} {where}) c ORDER BY code LIMIT %s",
                [*params, CODE_CHOICES],
            )
            return [(code, code) for (code,) in cursor.fetchall()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(rule_codes__contains=[value]) if value else queryset


class QuarantinedRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["run", "line_number", "codes", "first_message"]
    list_filter = [RunFilter, RuleCodeFilter]
    search_fields = ["messages", "raw_text", "raw", "run__filename"]
    list_select_related = ["run"]
    # Codes and reasons as text, not JSON arrays.
    readonly_fields = tuple(
        {"rule_codes": "codes", "messages": "reasons"}.get(f.name, f.name)
        for f in QuarantinedRecord._meta.fields
    )
    fields = readonly_fields
    show_full_result_count = False

    @admin.display(description="rules")
    def codes(self, obj: QuarantinedRecord) -> str:
        return ", ".join(obj.rule_codes)

    @admin.display(description="reasons")
    def reasons(self, obj: QuarantinedRecord) -> str:
        return reasons_text(obj)

    @admin.display(description="first reason")
    def first_message(self, obj: QuarantinedRecord) -> str:
        return obj.messages[0] if obj.messages else ""
