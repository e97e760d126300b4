"""Tests only: an ingest hook that stops a worker's ingest inside its publishing transaction, so a
test can kill the worker there (``ingestion/tests/test_worker.py``). Never in the product's settings."""

from __future__ import annotations

import os
import time
from pathlib import Path

from dataflow.context import HookBase, StageContext

PAUSE_IN_COMMIT_ENV = "ETL_TEST_PAUSE_IN_COMMIT"
"""A file path: the hook writes the run's id there, then waits (at most 120 s)."""


class PauseInCommit(HookBase):
    def in_commit(self, ctx: StageContext) -> None:
        marker = os.environ.get(PAUSE_IN_COMMIT_ENV)
        if marker and ctx.run is not None:
            Path(marker).write_text(str(ctx.run.pk))
            time.sleep(120)
