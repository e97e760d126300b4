"""The lake step's modules imported in the background while the run is read and loaded.

Importing pyiceberg and SQLAlchemy (for the SQL catalog) is most of the lake
step's fixed cost per process (about 0.6 s of CPU, issue #16): a run that
will publish starts importing them in a thread once its raw copy is kept, so
the import overlaps with reading, staging and the upsert (whose time is
spent largely in Polars, Arrow and PostgreSQL, outside the GIL). The work is
the same and done in the same process: :func:`lake_modules_wait`, called
before the lake step, waits for it. A failed prefetch is not an error: the
lake step imports the modules itself and reports what fails then.
"""

from __future__ import annotations

import importlib
import sys
import threading

from django.conf import settings

LAKE_MODULES = ("lake.sync",)
"""The lake step's own modules (pyiceberg, its expressions, tables and Arrow I/O)."""
SQL_CATALOG_MODULES = ("pyiceberg.catalog.sql", "sqlalchemy.dialects.postgresql.psycopg")
"""Imported by the SQL catalog when it is loaded (its engine's dialect: PostgreSQL with psycopg)."""

_lock = threading.Lock()
_thread: threading.Thread | None = None


def prefetched_modules() -> tuple[str, ...]:
    return LAKE_MODULES + (SQL_CATALOG_MODULES if settings.LAKE_CATALOG_TYPE == "sql" else ())


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112 - the lake step imports it again and reports the error
            continue


def lake_modules_prefetch() -> threading.Thread | None:
    """Start importing the lake step's modules in a daemon thread, unless they are imported or
    being imported already; the thread started, or None."""
    global _thread
    names = tuple(name for name in prefetched_modules() if name not in sys.modules)
    with _lock:
        if not names or (_thread is not None and _thread.is_alive()):
            return None
        _thread = threading.Thread(target=_import_all, args=(names,), name="lake-prefetch", daemon=True)
        _thread.start()
        return _thread


def lake_modules_wait() -> None:
    """Wait for a prefetch in progress (the lake step then finds its modules imported)."""
    with _lock:
        thread = _thread
    if thread is not None:
        thread.join()
