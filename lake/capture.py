"""Edits of customers made outside ingest (the admin, the ORM) reach the lake's outbox too.

A save or a delete of a :class:`customers.models.Customer` writes its row
before and after into ``lake_change`` (run unknown: the next lake step claims
it), in the edit's own transaction: the admin's views are atomic, so the edit
and its change commit together. Updates made with raw SQL or
``QuerySet.update`` send no signal: ``manage.py lake sync`` rebuilds the lake
after them. Nothing is captured while the lake is off (``lake sync`` is due
when it is switched on again: the lake step rebuilds by itself then).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from psycopg import sql

from lake.outbox import CHANGE_TABLE, capture_lock_shared

_BEFORE = "_lake_before"


def _row_json_sql() -> str:
    from customers.models import Customer

    return Customer.row_json_sql("c")  # the row without its generated columns (search_text)


def _row_json(table: str, pk: Any) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(f"SELECT {_row_json_sql()}::text FROM {{}} c WHERE id = %s").format(
                sql.Identifier(table)
            ),
            [pk],
        )
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def _before(sender: Any, instance: Any, **kwargs: Any) -> None:
    if not settings.LAKE_ENABLED or kwargs.get("raw"):
        return
    capture_lock_shared()
    setattr(instance, _BEFORE, _row_json(sender._meta.db_table, instance.pk) if instance.pk else None)


def _record(*, table: str, op: str, before: str | None, after_pk: Any) -> None:
    query = sql.SQL(
        "INSERT INTO {outbox} (run_id, op, before, after)"
        f" SELECT NULL, %s, %s::jsonb, (SELECT {_row_json_sql()} FROM {{table}} c WHERE id = %s)"
    ).format(outbox=sql.Identifier(CHANGE_TABLE), table=sql.Identifier(table))
    with connection.cursor() as cursor:
        cursor.execute(query, [op, before, after_pk])


def _saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not settings.LAKE_ENABLED or kwargs.get("raw"):
        return
    before = getattr(instance, _BEFORE, None)
    op = "u" if before is not None and not created else "i"
    _record(table=sender._meta.db_table, op=op, before=before, after_pk=instance.pk)


def _deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    before = getattr(instance, _BEFORE, None)
    if not settings.LAKE_ENABLED or before is None:
        return
    _record(table=sender._meta.db_table, op="d", before=before, after_pk=None)


def capture_connect() -> None:
    """Called once at start-up (the lake app's ``ready``)."""
    from customers.models import Customer

    pre_save.connect(_before, sender=Customer, dispatch_uid="lake.capture.pre_save")
    post_save.connect(_saved, sender=Customer, dispatch_uid="lake.capture.post_save")
    pre_delete.connect(_before, sender=Customer, dispatch_uid="lake.capture.pre_delete")
    post_delete.connect(_deleted, sender=Customer, dispatch_uid="lake.capture.post_delete")
