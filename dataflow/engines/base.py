"""The engine interface the orchestrator calls: stage a fetched file, then the orchestrator publishes.

An engine gets the run's :class:`dataflow.context.StageContext` (file, run, options)
and does read → map → transform → quality → staging (and hands the hooks each
batch's records), returning a :class:`StagedFile`; the one publishing
transaction is the orchestrator's, the same for every engine. Both engines
call the same stages (:mod:`dataflow.stages`); only how frames are held and moved differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from dataflow.context import IngestHook, IngestOptions, ProgressReporter, RunOutcome, StageContext
    from dataflow.quality.batch import QualityTally
    from dataflow.readers import RecordReader
    from dataflow.schema import Schema

ENGINES = ("polars", "spark")
DEFAULT_ENGINE = "polars"

RunningAmong = Callable[[list[int]], set[int]]
"""Of these run ids, the runs still ``running`` (a selector the orchestrator passes in)."""


@dataclass
class StagedFile:
    """A file read, checked and staged: what publishing it needs."""

    outcome: RunOutcome
    """Counts so far (quarantined), the report (reader, mapping, seconds, ...)."""
    reader: RecordReader
    """For its line fixes and warnings, known once every batch is read."""
    tally: QualityTally
    extra: list[str]
    """Source columns feeding no field, in order of appearance."""
    ingested_at: datetime


class Engine(Protocol):
    name: str

    def check(self) -> None:
        """Raise :class:`dataflow.engines.errors.EngineUnavailable` unless the engine can run here."""

    def stage_file(
        self,
        ctx: StageContext,
        *,
        schema: Schema,
        options: IngestOptions,
        progress: ProgressReporter | None,
        hooks: list[IngestHook],
    ) -> StagedFile: ...

    def leftovers_drop(self, *, running: RunningAmong) -> list[str]:
        """Drop what runs killed mid-way left behind (not those still ``running``); their names."""
