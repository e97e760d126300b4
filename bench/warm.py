"""Ingest files one after another in one process, as a worker does, and print each one's time.

    python bench/warm.py FILE [FILE ...]     (the environment names the database and the lake)

``bench/lake.py`` runs it once with the lake off and once with it on: the first
file warms the process up (Django's set-up, and with the lake on the import of
pyiceberg and SQLAlchemy, which a ``manage.py ingest`` process pays on every run
and a worker once); the others are timed from the call to its return. Prints one
JSON object: ``{"warm_up": seconds, "runs": [seconds, ...]}``.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ingest(path: str) -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("ingest", "--json", "--path", path, stdout=io.StringIO())
    return time.perf_counter() - started


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.chdir(ROOT)
    started = time.perf_counter()
    import django

    django.setup()
    first, *rest = sys.argv[1:]
    _ingest(first)
    warm_up = time.perf_counter() - started
    print(json.dumps({"warm_up": warm_up, "runs": [_ingest(path) for path in rest]}))


if __name__ == "__main__":
    main()
