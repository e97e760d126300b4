from __future__ import annotations

from django.contrib import admin

from alerts.models import AlertRecord
from common.admin import ReadOnlyAdminMixin


@admin.register(AlertRecord)
class AlertRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "run", "cause", "stage", "channels"]
    list_filter = ["cause"]
    search_fields = ["run__filename", "message"]
    readonly_fields = [f.name for f in AlertRecord._meta.fields]
