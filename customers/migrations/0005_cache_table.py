# `migrate` is the whole database set-up: the database cache (CACHES["default"]
# when REDIS_URL is empty) needs its table, which Django otherwise makes only with
# `createcachetable`; without it the first use of the cache answers 500 (once
# POST /api/auth/token/, when its throttle counted there). Created even with Redis
# configured, so that dropping REDIS_URL later just works.
# Same table as `createcachetable` (its own code), so either order is a no-op.

from django.conf import settings
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations


def cache_table_create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, settings.DATABASE_CACHE_TABLE, False)


def cache_table_drop(apps, schema_editor):
    table = schema_editor.quote_name(settings.DATABASE_CACHE_TABLE)
    schema_editor.execute(f"DROP TABLE IF EXISTS {table}")


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0004_throttle_counter"),
    ]

    operations = [
        migrations.RunPython(cache_table_create, cache_table_drop),
    ]
