"""Users of the console: staff with the runs' view permissions, staff without, and not staff."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer(db: None, django_user_model: Any) -> Client:
    """Staff who may view runs and quarantined records (not a superuser)."""
    user = django_user_model.objects.create_user(username="viewer", password="pw-viewer-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="etl", codename__in=["view_ingestionrun", "view_quarantinedrecord"]
        )
    )
    return _client(user)


@pytest.fixture
def staff_without_permissions(db: None, django_user_model: Any) -> Client:
    return _client(
        django_user_model.objects.create_user(username="bare", password="pw-bare-1", is_staff=True)
    )


@pytest.fixture
def not_staff(db: None, django_user_model: Any) -> Client:
    return _client(django_user_model.objects.create_user(username="partner", password="pw-partner-1"))


@pytest.fixture
def runs_viewer(db: None, django_user_model: Any) -> Client:
    """Staff who may view runs, not quarantined records (nor the report's examples)."""
    user = django_user_model.objects.create_user(username="runs", password="pw-runs-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="etl", codename="view_ingestionrun")
    )
    return _client(user)
