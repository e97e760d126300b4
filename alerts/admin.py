from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from alerts.models import AlertRecord


@admin.register(AlertRecord)
class AlertRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "run", "cause", "stage", "channels"]
    list_filter = ["cause"]
    search_fields = ["run__filename", "message"]
    readonly_fields = [f.name for f in AlertRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AlertRecord | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AlertRecord | None = None) -> bool:
        return False  # a deleted record would re-arm the alert of its run and cause
