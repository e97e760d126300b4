"""Helpers for the ingest tests: a local inbox of sample files, options, generated customer files.

And :func:`child_env`, for the tests that run ``manage.py`` as a process against the test database.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

from django.db import connection

from dataflow.context import IngestOptions
from dataflow.sources import LocalSource
from ingestion.models import IngestionRun
from ingestion.pipeline import IngestResult, ingest_file
from testsupport import CASES as CASES_ROOT
from testsupport import SAMPLE as SAMPLE_CSV

CASES = CASES_ROOT / "ingest"
SAMPLE = SAMPLE_CSV
HEADER = (
    "Index,Customer Id,First Name,Last Name,Company,City,Country,"
    "Phone 1,Phone 2,Email,Subscription Date,Website"
)


def inbox_with(tmp_path: Path, *files: Path) -> LocalSource:
    inbox = tmp_path / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copyfile(path, inbox / path.name)
    return LocalSource(inbox)


def options_for(tmp_path: Path, **overrides: object) -> IngestOptions:
    # Tiny files with a bad record or two are the point of these tests: no quality rejection.
    values: dict = {"work_dir": tmp_path / "work", "batch_size": 1000, "reject_above": 100.0} | overrides
    return IngestOptions(**values)


def ingest(tmp_path: Path, path: Path, **overrides: object) -> IngestResult:
    source = inbox_with(tmp_path, path)
    return ingest_file(source=source, name=path.name, options=options_for(tmp_path, **overrides), hooks=[])


def run_of(result: IngestResult) -> IngestionRun:
    assert result.run_id is not None
    return IngestionRun.objects.get(pk=result.run_id)


def customer_lines(rows: int, *, seed: int = 1, start: int = 1) -> list[str]:
    """``rows`` valid CSV lines shaped like customers-100.csv (deterministic for a seed)."""
    rng = random.Random(seed)
    lines = []
    for i in range(start, start + rows):
        key = f"C{i:012d}{rng.randrange(16**3):03x}"
        lines.append(
            f"{i},{key},First{i},Last{i},Company {rng.randrange(1000)},City {rng.randrange(500)},"
            f"Country {rng.randrange(200)},+1-555-{rng.randrange(10**7):07d},,user{i}@example.com,"
            f"20{rng.randrange(10, 24)}-0{rng.randrange(1, 10)}-1{rng.randrange(0, 10)},https://example.com/{i}"
        )
    return lines


def write_customers(path: Path, rows: int, *, seed: int = 1) -> Path:
    path.write_text("\n".join([HEADER, *customer_lines(rows, seed=seed)]) + "\n")
    return path


def child_env(tmp_path: Path) -> dict[str, str]:
    """A ``manage.py`` child process's environment: this test database, an inbox under ``tmp_path``."""
    env = dict(os.environ)
    env.update(
        DEBUG="true",
        DB_NAME=connection.settings_dict["NAME"],
        INGEST_LOCAL_DIR=str(tmp_path / "inbox"),
        INGEST_WORK_DIR=str(tmp_path / "work"),
        INGEST_SOURCE="local",
        LOG_LEVEL="warning",
    )
    return env
