"""What the tests of several apps share: real servers on 127.0.0.1, ingest helpers, sample files.

Its fixtures (``testsupport.fixtures``) are loaded for every test by the root ``conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = Path(__file__).resolve().parent / "cases"
"""Small sample files: ``cases/ingest`` (shapes of files), ``cases/quality`` (rules)."""
SAMPLE = ROOT / "scripts" / "downloads" / "customers-100.csv"
