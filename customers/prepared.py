"""Prepared statements for the API's per-request SQL whose plan does not depend on its parameters.

Django binds parameters on the client (psycopg's ``ClientCursor``): every
statement reaches PostgreSQL as new text, parsed and planned again. For the
token lookup (a join with the user's permissions) planning cost four times
its execution. A statement run through :func:`prepared_cursor` is sent with
its parameters apart and, on a connection that allows it
(``DATABASES[...]["OPTIONS"]["prepare_threshold"]``, see ``DB_PREPARED_STATEMENTS``
in the settings), prepared by psycopg after that many executions and then
only bound and executed.

Only statements whose best plan is the same for any parameter value belong
here: a prepared statement may switch to one generic plan after five runs,
and a plan chosen without the value (a search term, a date range) can be a
table walk where the value called for an index. The ORM's other queries keep
Django's client-side binding.

A migration that changes the type of a column such a statement returns fails
it once per connection ("cached plan must not change result type"; psycopg
then prepares it anew), as it fails code that still expects the old type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import InterfaceError, OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


def rows_read(
    connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any], *, prepare: bool, binary: bool = False
) -> list[tuple[Any, ...]]:
    """The rows of one read-only statement, the statement itself standing for the health check.

    With ``CONN_HEALTH_CHECKS``, Django sends ``SELECT 1`` before a request's
    first statement on a kept connection: a round trip of its own, a third of
    a customers page's. Here, when that check is due and no transaction is
    open, the statement is sent without it; if it fails and the connection
    then answers no ``SELECT 1`` (the server restarted, a proxy dropped it),
    the connection is opened again and the statement run once more, as the
    health check would have done before it. A read has no effect to repeat.
    Any other failure is raised as it is. ``prepare``: through
    :func:`prepared_cursor` (``binary`` as there), else ``connection.cursor()``.
    """
    db: Any = connection  # health_check_done and its kin are not in the stubs
    retry = (
        db.connection is not None
        and db.health_check_enabled
        and not db.health_check_done
        and not db.in_atomic_block
        and db.get_autocommit()
    )
    if retry:
        db.health_check_done = True
    try:
        return _fetch(connection, sql, params, prepare=prepare, binary=binary)
    except (OperationalError, InterfaceError):
        if not retry or connection.is_usable():
            raise
    connection.close()
    return _fetch(connection, sql, params, prepare=prepare, binary=binary)


def _fetch(
    connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any], *, prepare: bool, binary: bool
) -> list[tuple[Any, ...]]:
    with prepared_cursor(connection, binary=binary) if prepare else connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def prepared_cursor(connection: BaseDatabaseWrapper, *, binary: bool = False) -> CursorWrapper:
    """A cursor of ``connection`` binding parameters on the server (PostgreSQL, psycopg 3).

    Wrapped like ``connection.cursor()``: the same health check, error
    translation, transaction state and query log (``DEBUG``, tests). On
    another backend or driver it is ``connection.cursor()`` itself.

    ``binary``: rows come in PostgreSQL's binary format, decoded by psycopg's C
    loaders (a timestamp in text goes through Python code, 20 of them per page).
    Only for columns read the same either way: text, numbers, booleans, dates
    and timestamps (in the session's time zone, Django's), arrays of them. Not
    for ``jsonb``, ``inet`` or ``cidr``, which Django reads as text.
    """
    cursor_class = _server_binding_cursor_class(connection)
    if cursor_class is None:
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        connection.validate_thread_sharing()
        raw = cursor_class(connection.connection)
        _timezone_align(connection, raw)
        if binary:
            raw.format = _postgresql_backend().Format.BINARY
        if connection.queries_logged:
            return ServerBoundDebugCursor(raw, connection)
        return connection.make_cursor(raw)


class ServerBoundDebugCursor(CursorDebugWrapper):
    """Django's query log (DEBUG, tests) with the statement as it runs: its parameters in place,
    as Django logs them with ``server_side_binding`` (psycopg's query text has ``$1`` instead)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        logged = self.db.ops.compose_sql(sql, params) if params else sql
        with self.debug_sql(logged, params):
            return CursorWrapper.execute(self, sql, params)


def _timezone_align(connection: Any, raw: Any) -> None:
    """What Django's ``create_cursor`` does: timestamps read in the connection's time zone."""
    postgresql = _postgresql_backend()
    loader = connection.connection.adapters.get_loader(postgresql.TIMESTAMPTZ_OID, postgresql.Format.TEXT)
    if connection.timezone != loader.timezone:
        postgresql.register_tzloader(connection.timezone, raw)


def _postgresql_backend() -> Any:
    from django.db.backends.postgresql import base

    return base


def _server_binding_cursor_class(connection: BaseDatabaseWrapper) -> Any | None:
    if connection.vendor != "postgresql":
        return None
    return getattr(_postgresql_backend(), "ServerBindingCursor", None)  # psycopg 3 only
