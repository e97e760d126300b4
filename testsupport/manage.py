"""``manage.py`` in a child process, against a database of its own (``fresh_database``)."""

from __future__ import annotations

import os
import subprocess
import sys

from testsupport import ROOT


def manage_in(db_name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``manage.py *args`` on ``db_name`` (DEBUG on, no Redis), its output captured; five minutes at most."""
    env = dict(os.environ, DEBUG="true", DB_NAME=db_name, REDIS_URL="", LOG_LEVEL="warning")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
