"""Progress of one ingest: a rich progress bar on a terminal, structured log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import IO

import structlog
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from dataflow.context import ProgressReporter

log = structlog.get_logger("etl.ingest")
LOG_EVERY_SECONDS = 5.0


class LogProgress:
    """A log line at most every few seconds: bytes read and rows staged so far."""

    def __init__(self, *, every: float = LOG_EVERY_SECONDS) -> None:
        self.every = every
        self._last = 0.0
        self._name = ""
        self._total: int | None = None

    def start(self, *, name: str, total_bytes: int | None) -> None:
        self._name, self._total, self._last = name, total_bytes, time.monotonic()

    def advance(self, *, bytes_read: int, rows: int) -> None:
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            log.info(
                "ingest.progress", file=self._name, bytes_read=bytes_read, total_bytes=self._total, rows=rows
            )

    def stop(self) -> None:
        """Nothing to tear down."""


class RichProgress:
    """A bar of bytes read (of the file's size) with the rows staged so far."""

    def __init__(self, stream: IO[str]) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.fields[name]}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[rows]:,} rows"),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._task: TaskID | None = None

    def start(self, *, name: str, total_bytes: int | None) -> None:
        self._progress.start()
        self._task = self._progress.add_task("ingest", total=total_bytes, name=name, rows=0)

    def advance(self, *, bytes_read: int, rows: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=bytes_read, rows=rows)

    def stop(self) -> None:
        if self._task is not None:  # harmless when the file was refused before its bar started
            self._progress.stop()


def progress_for(stream: IO[str] | None = None) -> ProgressReporter:
    """Rich on a terminal, log lines otherwise."""
    stream = stream or sys.stderr
    return RichProgress(stream) if stream.isatty() else LogProgress()
