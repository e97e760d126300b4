"""Django database backend: PostgreSQL, started on demand from the embedded wheel.

Used only when ``DB_HOST`` is empty. It is the stock ``postgresql`` backend
except that, right before connecting, it makes sure the embedded server runs
and the configured database exists, then points libpq at its socket; and
``dbshell`` runs the wheel's ``psql`` on that socket (:mod:`config.embedded_pg.client`).
"""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg import sql

from config.embedded_pg import ensure_server
from config.embedded_pg.client import DatabaseClient

_created_databases: set[tuple[str, str]] = set()


def _ensure_database(host: str, port: int, user: str, name: str) -> None:
    if (host, name) in _created_databases or name == "postgres":
        return
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            # Another process may create it between our check and our CREATE.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    _created_databases.add((host, name))


class DatabaseWrapper(base.DatabaseWrapper):
    client_class = DatabaseClient

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        options = self.settings_dict.get("OPTIONS", {})
        params.pop("embedded_pgdata", None)
        params.pop("embedded_settings", None)
        server = ensure_server(options.get("embedded_pgdata"), options.get("embedded_settings"))
        params["host"] = server.socket_dir
        params["port"] = server.port
        if not params.get("user"):
            params["user"] = server.user
        dbname = params.get("dbname")
        if dbname:
            _ensure_database(server.socket_dir, server.port, params["user"], dbname)
        return params
