"""The audit log in the admin: runs and their quarantined records, read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from common.admin import ReadOnlyAdminMixin
from ingestion.models import IngestionRun, QuarantinedRecord
from ingestion.quarantine_admin import QuarantinedRecordAdmin

INLINE_LIMIT = 100


class QuarantinedRecordInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = QuarantinedRecord
    fields = ("line_number", "rule_codes", "messages", "raw", "raw_text")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ("line_number", "id")


@admin.register(IngestionRun)
class IngestionRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Runs are written by the pipeline only; people read them."""

    list_display = (
        "id",
        "filename",
        "source",
        "status_shown",
        "started_at",
        "finished_at",
        "rows_read",
        "rows_loaded",
        "rows_duplicates",
        "rows_quarantined",
    )
    list_filter = ("status", "source", "dry_run")
    search_fields = ("filename", "sha256")
    date_hierarchy = "started_at"
    readonly_fields = ["quarantined_records", *[f.name for f in IngestionRun._meta.fields]]
    inlines = [QuarantinedRecordInline]

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        # A bad file can quarantine millions: inline only a readable few, link to the list otherwise.
        if obj is not None and obj.rows_quarantined > INLINE_LIMIT:
            return []
        return list(self.inlines)

    @admin.display(description="Status", ordering="status")
    def status_shown(self, obj: IngestionRun) -> str:
        # A dry run loads nothing: it must not read like a load in the list.
        return f"{obj.status} (dry run)" if obj.dry_run else obj.status

    @admin.display(description="Quarantined records")
    def quarantined_records(self, obj: IngestionRun) -> str:
        url = reverse("admin:etl_quarantinedrecord_changelist") + f"?run__id__exact={obj.pk}"
        return format_html('<a href="{}">{} record(s)</a>', url, obj.rows_quarantined)


# Filter by run and by rule code, search the reasons and the raw records (dataflow.quality).
admin.site.register(QuarantinedRecord, QuarantinedRecordAdmin)
