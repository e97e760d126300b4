"""Settings for the test suite: the real settings with test-friendly defaults.

pytest-django imports settings before any conftest runs, so the defaults are
set here. Environment variables still win (e.g. ``DB_HOST`` to test against
another server).
"""

import os
import tempfile

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("LOG_LEVEL", "warning")
# No log file under tests (and their child processes); the logging tests name their own.
os.environ.setdefault("LOG_FILE", "off")
# The lake (issue #7) follows every ingest; tests that want it turn it on with
# their own LAKE_URI (lake/tests/test_ingest.py), the others stay fast and
# never write into the developer's .data/lake.
os.environ.setdefault("LAKE_ENABLED", "false")
# Accepted uploads (issue #15) wait in a folder of this test session (its workers inherit it).
if not os.environ.get("UPLOAD_DIR"):
    os.environ["UPLOAD_DIR"] = tempfile.mkdtemp(prefix="test-uploads-")

from config.settings import *  # noqa: F403
