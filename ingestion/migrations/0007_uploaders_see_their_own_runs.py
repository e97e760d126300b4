"""Uploaders (partners) read the runs of their own uploads, not every run (``etl.view_own_ingestionrun``).

The role's group, where it exists, trades ``etl.view_ingestionrun`` for the new permission here,
so a deployment's partner tokens stop listing other partners' runs at this migration, not at the
next ``create_api_token --role uploaders`` (which sets the group's permissions anew).
"""

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations

UPLOADERS_GROUP = "etl-uploaders"


def _group_and_permissions(apps: Any) -> tuple[Any, Any, Any]:
    config = apps.get_app_config("etl")
    if not getattr(config, "models_module", None):  # a migration's app stub: create_permissions would skip it
        config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    group = apps.get_model("auth", "Group").objects.filter(name=UPLOADERS_GROUP).first()
    permission = apps.get_model("auth", "Permission").objects
    every = permission.get(content_type__app_label="etl", codename="view_ingestionrun")
    own = permission.get(content_type__app_label="etl", codename="view_own_ingestionrun")
    return group, every, own


def uploaders_see_their_own_runs(apps: Any, schema_editor: Any) -> None:
    group, every, own = _group_and_permissions(apps)
    if group is not None:
        group.permissions.remove(every)
        group.permissions.add(own)


def uploaders_see_every_run(apps: Any, schema_editor: Any) -> None:
    group, every, own = _group_and_permissions(apps)
    if group is not None:
        group.permissions.remove(own)
        group.permissions.add(every)


class Migration(migrations.Migration):
    dependencies = [
        ("etl", "0006_run_loaded_at_and_lake_snapshot"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="ingestionrun",
            options={
                "ordering": ["-started_at", "-id"],
                "permissions": [
                    ("upload_file", "Can upload a file to ingest (POST /api/ingestions/)"),
                    ("view_own_ingestionrun", "Can view the ingestion runs of its own uploads"),
                ],
            },
        ),
        migrations.RunPython(uploaders_see_their_own_runs, uploaders_see_every_run),
    ]
