"""The lake step's modules imported in the background during the run (lake/prefetch.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lake.prefetch import SQL_CATALOG_MODULES, _import_all, prefetched_modules

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import sys, django
django.setup()
from lake.prefetch import lake_modules_prefetch, lake_modules_wait, prefetched_modules
wanted = prefetched_modules()
before = [m for m in wanted if m in sys.modules]
thread = lake_modules_prefetch()
again = lake_modules_prefetch()
lake_modules_wait()
print(before, thread is not None, again is None, [m for m in wanted if m not in sys.modules])
print(lake_modules_prefetch() is None)
"""


def test_a_fresh_process_imports_the_lake_modules_in_one_background_thread() -> None:
    env = {"DJANGO_SETTINGS_MODULE": "config.settings_test", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    # none imported before; one thread (a second call while it runs starts none); all imported after;
    # nothing started once they are imported
    assert done.stdout.splitlines() == ["[] True True []", "True"]


def test_the_sql_catalogs_modules_are_prefetched_only_for_the_sql_catalog(settings) -> None:
    settings.LAKE_CATALOG_TYPE = "sql"
    assert set(SQL_CATALOG_MODULES) <= set(prefetched_modules())
    settings.LAKE_CATALOG_TYPE = "rest"
    assert not set(SQL_CATALOG_MODULES) & set(prefetched_modules())


def test_a_module_that_fails_to_import_is_left_to_the_lake_step() -> None:
    _import_all(("lake.no_such_module", "lake.sync"))  # no exception: the lake step reports it
    assert "lake.sync" in sys.modules
