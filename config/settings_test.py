"""Settings for the test suite: the real settings with test-friendly defaults.

pytest-django imports settings before any conftest runs, so the defaults are
set here. Environment variables still win (e.g. ``DB_HOST`` to test against
another server).
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("LOG_LEVEL", "warning")

from config.settings import *  # noqa: F403
