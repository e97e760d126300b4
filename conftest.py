"""Test-wide set-up: deterministic settings whatever the developer's .env says."""

import os

# Tests run with DEBUG on (dev secret key allowed) unless a test changes it.
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("LOG_LEVEL", "warning")
