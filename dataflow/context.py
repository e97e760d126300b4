"""What the ingest core shares: a run's options, the file being ingested, its counts and outcome,
and the protocols of the hooks and progress reporters the orchestrator passes in.

A leaf: nothing of the project is imported at run time (only for type checking),
so the stages, the engines and the orchestrator all depend on it and it on none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import polars as pl

    from dataflow.mapping import ColumnMapping
    from dataflow.readers import LineFix

STAGE_FETCH = "fetch"
STAGE_READ = "read"
STAGE_MAP = "map"
STAGE_TRANSFORM = "transform"
STAGE_QUALITY = "quality"
STAGE_LOAD = "load"
STAGE_HOOKS = "hooks"
STAGE_SPARK_SESSION = "spark session"
"""Stage names: a failure's message names the stage running (``hooks failed: disk full``)."""


class RejectFile(Exception):
    """The file as a whole cannot be loaded (raised by a stage; becomes a ``rejected`` run)."""


@dataclass(frozen=True)
class IngestOptions:
    """Settings of one ingest."""

    work_dir: Path
    """Where fetched files land."""
    batch_size: int = 100_000
    """Records per batch: bounds memory whatever the file size."""
    force: bool = False
    """Load even when a file with the same sha256 was already loaded."""
    dry_run: bool = False
    """Read, transform, check and report; write nothing to the customers table."""
    warn_above: float | None = None
    """Percent of invalid records above which the run warns and alerts (None: the schema's)."""
    reject_above: float | None = None
    """Percent of invalid records above which the file is rejected (None: the schema's)."""
    extra_date_formats: tuple[str, ...] = ()
    """Date formats tried after the schema's own (per source)."""
    engine: str = "polars"
    """``polars`` (this process) or ``spark`` (SPARK_MASTER): same stages, same outcome (dataflow.engines)."""
    max_bytes: int = 0
    """Most bytes a file may hold, once decompressed (``INGEST_MAX_BYTES``); 0: no limit."""


class RunRecord(Protocol):
    """What the stages, engines and hooks read of the run (the orchestrator alone writes it)."""

    @property
    def pk(self) -> Any: ...

    @property
    def status(self) -> str: ...


@dataclass
class StageContext:
    """What the stages and hooks know about the file being ingested."""

    source: str
    filename: str
    path: Path
    sha256: str
    size: int
    run: RunRecord | None = None
    options: IngestOptions | None = None
    stage: str = STAGE_FETCH
    """The stage running now (named in failure messages)."""
    mapping: ColumnMapping | None = None
    """The file's columns → the schema's fields, once the engine knows it."""


@dataclass
class RunCounts:
    read: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class RunOutcome:
    """What a finished run records besides its status."""

    counts: RunCounts = field(default_factory=RunCounts)
    report: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error_message: str = ""
    error_trace: str = ""


class ProgressReporter(Protocol):
    def start(self, *, name: str, total_bytes: int | None) -> None: ...

    def advance(self, *, bytes_read: int, rows: int) -> None: ...

    def stop(self) -> None: ...


class IngestHook(Protocol):
    """What runs beside the stages of every file (the lake's hook; ``INGEST_HOOKS``).

    The orchestrator and the engines call these, in this order; they never
    look at what a hook is, only at what it answers.
    """

    def recover(self, ctx: StageContext) -> None:
        """At the start of every ingest (skipped ones too), under the file's lock: finish what a
        killed ingest left owed (the lake completes its pending runs)."""

    def after_fetch(self, ctx: StageContext) -> None:
        """The fetched file, before any processing; a raise fails the run (it may set ``ctx.stage``)."""

    def wants_batches(self, ctx: StageContext) -> bool:
        """Whether :meth:`on_batch` is to be called for this run."""

    def on_batch(self, ctx: StageContext, *, raw: pl.DataFrame, valid: pl.DataFrame) -> None:
        """One batch as read (``raw``) and its loadable records (``valid``), once staged."""

    def lines_fixed(self, ctx: StageContext, *, fix: LineFix) -> None:
        """After the last batch, when the lines handed to :meth:`on_batch` were provisional (a CSV
        with ragged or blank rows, :meth:`dataflow.readers.CsvReader.line_fix`): correct what was kept."""

    def parts_folder(self, ctx: StageContext) -> Path | None:
        """Where an engine that writes Parquet itself (Spark) puts the run's processed records
        (the columns of :mod:`dataflow.processed`) instead of calling :meth:`on_batch`; None: nowhere."""

    def changes_sink(self, ctx: StageContext) -> str | None:
        """Inside the publishing transaction, before the upsert: the table the upsert writes each
        row it changes into (see :class:`dataflow.upsert.ChangeSink`), or None."""

    def in_commit(self, ctx: StageContext) -> None:
        """Inside the publishing transaction, before the run's status is written (the lake marks
        its step pending: committed with the load, or not at all)."""

    def after_commit(self, ctx: StageContext) -> None:
        """The run is committed (still under the file's lock); a raise becomes a warning on the run."""


class HookBase:
    """An :class:`IngestHook` that does nothing: subclass it and override what the hook needs."""

    def recover(self, ctx: StageContext) -> None:
        return None

    def after_fetch(self, ctx: StageContext) -> None:
        return None

    def wants_batches(self, ctx: StageContext) -> bool:
        return True

    def on_batch(self, ctx: StageContext, *, raw: pl.DataFrame, valid: pl.DataFrame) -> None:
        return None

    def lines_fixed(self, ctx: StageContext, *, fix: LineFix) -> None:
        return None

    def parts_folder(self, ctx: StageContext) -> Path | None:
        return None

    def changes_sink(self, ctx: StageContext) -> str | None:
        return None

    def in_commit(self, ctx: StageContext) -> None:
        return None

    def after_commit(self, ctx: StageContext) -> None:
        return None
