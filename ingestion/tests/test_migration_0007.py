"""Migration ``etl.0007``: an existing uploaders group trades reading every run for reading its own."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

pytestmark = pytest.mark.django_db
MIGRATION = importlib.import_module("ingestion.migrations.0007_uploaders_see_their_own_runs")


def _codenames(group: Group) -> set[str]:
    return set(group.permissions.values_list("codename", flat=True))


def _etl(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="etl", codename=codename)


def test_the_uploaders_group_of_before_reads_its_own_runs_only_after_it() -> None:
    group = Group.objects.create(name="etl-uploaders")
    group.permissions.set([_etl("upload_file"), _etl("view_ingestionrun")])

    MIGRATION.uploaders_see_their_own_runs(apps, None)

    assert _codenames(group) == {"upload_file", "view_own_ingestionrun"}


def test_it_goes_back_to_every_run_when_unapplied() -> None:
    group = Group.objects.create(name="etl-uploaders")
    group.permissions.set([_etl("upload_file"), _etl("view_own_ingestionrun")])

    MIGRATION.uploaders_see_every_run(apps, None)

    assert _codenames(group) == {"upload_file", "view_ingestionrun"}


def test_other_groups_are_left_alone() -> None:
    operators = Group.objects.create(name="etl-operators")
    operators.permissions.set([_etl("view_ingestionrun")])

    MIGRATION.uploaders_see_their_own_runs(apps, None)

    assert _codenames(operators) == {"view_ingestionrun"}
    assert not Group.objects.filter(name="etl-uploaders").exists()
