"""What every worker task shares (issue #15): a database connection of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import close_old_connections, connection


@contextmanager
def task_connection() -> Iterator[None]:
    """A task runs in a worker thread: its own connection, closed after (with any session lock).
    Called inside a transaction (a test running a job in-process), the connection is left alone."""
    inside = connection.in_atomic_block
    if not inside:
        close_old_connections()
    try:
        yield
    finally:
        if not inside:
            connection.close()
