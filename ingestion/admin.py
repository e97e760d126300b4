"""The audit log in the admin: runs and their quarantined records, read-only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html

from common.admin import DateHierarchyAdminMixin, ReadOnlyAdminMixin
from customers.permissions import can_view_partner_values, report_without_values
from ingestion.models import IngestionRun, QuarantinedRecord
from ingestion.quarantine_admin import QuarantinedRecordAdmin
from ingestion.run_display import (
    BADGE_CSS,
    duration_shown,
    reasons_text,
    record_text,
    status_badge,
    time_shown,
)
from ingestion.selectors import run_that_loaded

INLINE_LIMIT = 100
MAX_PARAM_CHARS = 255
BAD_LOADED_QUERY = "give file (a file name) and at (an ISO 8601 time with its offset), as a customer has them"
NO_RUN_LOADED = "no run recorded loading {file} at {at}"


def run_page_url(run_id: int) -> str:
    """Where a run is read: its report page in the console (by URL name: the console is above us)."""
    return reverse("console:run-report", args=[run_id])


def _moment(text: str) -> datetime | None:
    try:
        return parse_datetime(text) if len(text) <= MAX_PARAM_CHARS else None
    except ValueError:  # well formed, not a date: 2026-02-30T00:00Z
        return None


def _text(message: str, *, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class QuarantinedRecordInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = QuarantinedRecord
    fields = ("line_number", "rules", "reasons", "record")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ("line_number", "id")

    @admin.display(description="rules")
    def rules(self, obj: QuarantinedRecord) -> str:
        return ", ".join(obj.rule_codes)

    @admin.display(description="reasons")
    def reasons(self, obj: QuarantinedRecord) -> str:
        return reasons_text(obj)

    @admin.display(description="record")
    def record(self, obj: QuarantinedRecord) -> str:
        return record_text(obj)


SHOWN_AS = {"warnings": "warnings_text", "report": "report_json"}
"""Fields shown through a display method rather than as Django renders them."""


@admin.register(IngestionRun)
class IngestionRunAdmin(ReadOnlyAdminMixin, DateHierarchyAdminMixin, admin.ModelAdmin):
    """Runs are written by the pipeline only; staff with the view permission read them."""

    # Readable at 1280 px beside the admin's two sidebars: source and run id under the file name
    # (a link to the run's report), the duration under the start, counts right-aligned, no column
    # for what is usually false.
    list_display = (
        "file_shown",
        "status_shown",
        "read",
        "loaded",
        "quarantined",
        "started",
    )
    list_display_links = None
    list_filter = ("status", "source", ("started_at", admin.DateFieldListFilter), "dry_run")
    search_fields = ("filename", "sha256")
    date_hierarchy = "started_at"
    readonly_fields = (
        "report_page",
        "quarantined_records",
        *[SHOWN_AS.get(f.name, f.name) for f in IngestionRun._meta.fields],
    )
    fields = readonly_fields
    inlines = [QuarantinedRecordInline]
    show_full_result_count = False

    class Media:
        css = {"all": [BADGE_CSS]}

    def get_urls(self) -> list[URLPattern]:
        loaded = path("loaded/", self.admin_site.admin_view(self.loaded_view), name="etl_ingestionrun_loaded")
        return [loaded, *super().get_urls()]

    def loaded_view(self, request: HttpRequest) -> HttpResponse:
        """Staff who may view runs: the run that loaded a customer (``?file=&at=``, its
        ``source_file`` and ``ingested_at``), redirected to; a clear 400/404 page otherwise."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        filename, at = request.GET.get("file", ""), request.GET.get("at", "")
        moment = _moment(at)
        if not filename or len(filename) > MAX_PARAM_CHARS or moment is None or moment.tzinfo is None:
            return _text(BAD_LOADED_QUERY, status=400)
        run = run_that_loaded(filename=filename, at=moment)
        if run is None:
            return _text(NO_RUN_LOADED.format(file=filename, at=at), status=404)
        return HttpResponseRedirect(run_page_url(run.pk))

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        # A bad file can quarantine millions: inline only a readable few, link to the list otherwise.
        if obj is not None and obj.rows_quarantined > INLINE_LIMIT:
            return []
        return list(self.inlines)

    @admin.display(description="Status", ordering="status")
    def status_shown(self, obj: IngestionRun) -> str:
        # A dry run loads nothing: it must not read like a load in the list.
        return status_badge(obj)

    @admin.display(description="File · source · run", ordering="-id")
    def file_shown(self, obj: IngestionRun) -> str:
        return format_html(
            '<a href="{}" title="{} (the run\'s report)">{}</a><span class="run-sub">{} · run {}</span>',
            run_page_url(obj.pk),
            obj.filename,
            obj.filename,
            obj.source,
            obj.pk,
        )

    @admin.display(description="Read", ordering="rows_read")
    def read(self, obj: IngestionRun) -> int:
        return obj.rows_read

    @admin.display(description="Loaded", ordering="rows_loaded")
    def loaded(self, obj: IngestionRun) -> int:
        return obj.rows_loaded

    @admin.display(description="Quarantined", ordering="rows_quarantined")
    def quarantined(self, obj: IngestionRun) -> int:
        return obj.rows_quarantined

    @admin.display(description="Started", ordering="started_at")
    def started(self, obj: IngestionRun) -> str:
        return format_html(
            '{}<span class="run-sub">{}</span>', time_shown(obj.started_at), duration_shown(obj)
        )

    @admin.display(description="Report")
    def report_page(self, obj: IngestionRun) -> str:
        return format_html('<a href="{}">the run\'s report</a>', run_page_url(obj.pk))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The report's examples quote partner values: only for staff who may view quarantined records.
        if can_view_partner_values(request.user):
            return self.readonly_fields
        return tuple("report_json_without_values" if f == "report_json" else f for f in self.readonly_fields)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_readonly_fields(request, obj)

    @admin.display(description="Report (JSON)")
    def report_json(self, obj: IngestionRun) -> str:
        # Indented, in a scrolling block: one line of JSON was unreadable beside the readable report.
        return format_html('<pre class="run-report-json">{}</pre>', json.dumps(obj.report, indent=2))

    @admin.display(description="Report (JSON, without the examples: they quote partner values)")
    def report_json_without_values(self, obj: IngestionRun) -> str:
        return format_html(
            '<pre class="run-report-json">{}</pre>', json.dumps(report_without_values(obj.report), indent=2)
        )

    @admin.display(description="Warnings")
    def warnings_text(self, obj: IngestionRun) -> str:
        return "\n".join(obj.warnings)

    @admin.display(description="Quarantined records")
    def quarantined_records(self, obj: IngestionRun) -> str:
        url = reverse("admin:etl_quarantinedrecord_changelist") + f"?run__id__exact={obj.pk}"
        return format_html('<a href="{}">{} record(s)</a>', url, obj.rows_quarantined)


# Filter by run and by rule code, search the reasons and the raw records (dataflow.quality).
admin.site.register(QuarantinedRecord, QuarantinedRecordAdmin)
