"""The alert records in the admin: read, never added, changed or deleted (a deleted record re-arms
the alert of its run and cause)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from alerts import AlertCause
from alerts.models import AlertRecord
from ingestion.models import IngestionRun

pytestmark = pytest.mark.django_db


def test_alert_records_are_listed(admin_client: Client) -> None:
    run = IngestionRun.objects.create(source="local", filename="a.csv")
    AlertRecord.objects.create(run=run, cause=AlertCause.REJECTED, message="a.csv: rejected")

    page = admin_client.get(reverse("admin:alerts_alertrecord_changelist"))

    assert page.status_code == 200
    assert [record.message for record in page.context["cl"].result_list] == ["a.csv: rejected"]


def test_alert_records_cannot_be_added_changed_or_deleted(admin_client: Client) -> None:
    run = IngestionRun.objects.create(source="local", filename="a.csv")
    record = AlertRecord.objects.create(run=run, cause=AlertCause.REJECTED, message="a.csv: rejected")

    added = admin_client.get(reverse("admin:alerts_alertrecord_add"))
    change, delete = (
        reverse(f"admin:alerts_alertrecord_{view}", args=[record.pk]) for view in ("change", "delete")
    )
    changed = admin_client.post(change, {"message": "x"})
    deleted = admin_client.post(delete, {"post": "yes"})

    assert (added.status_code, changed.status_code, deleted.status_code) == (403, 403, 403)
    assert AlertRecord.objects.filter(pk=record.pk, message="a.csv: rejected").exists()
