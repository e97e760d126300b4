"""A command whose database is behind the code says so, in one line, instead of a traceback.

On a database that was never migrated (or not since an upgrade) a command's first query fails
with ``relation "..." does not exist``: :func:`schema_checked` turns that into "database not
migrated ... (run: python manage.py migrate)". The migrations are looked at only after such a
failure, so a command on an up-to-date database pays nothing for the check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, ProgrammingError, connections

NOT_MIGRATED = (
    "database not migrated: {count} migration(s) to apply, the first {first} (run: python manage.py migrate)"
)


def unapplied_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """``app.migration`` of every migration the database of ``alias`` still has to apply, in order."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def not_migrated_message(alias: str = DEFAULT_DB_ALIAS) -> str | None:
    """:data:`NOT_MIGRATED` when migrations are left to apply; None when none are, or it cannot tell."""
    try:
        pending = unapplied_migrations(alias)
    except DatabaseError:
        return None
    return NOT_MIGRATED.format(count=len(pending), first=pending[0]) if pending else None


@contextmanager
def schema_checked(*, returncode: int = 1) -> Iterator[None]:
    """A :class:`ProgrammingError` inside, on a database with migrations left, is that CommandError."""
    try:
        yield
    except ProgrammingError as exc:
        message = not_migrated_message()
        if message is None:
            raise
        raise CommandError(message, returncode=returncode) from exc
