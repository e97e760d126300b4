"""The engine interface the pipeline calls: one function that processes a fetched file.

An engine gets the run's :class:`etl.pipeline.StageContext` (file, run, options)
and does read → map → transform → quality → staging → one publishing
transaction → lake hooks, returning the run's outcome and the number of
quarantined records stored. Both engines call the same mapping, transform
and rule code; only how frames are held and moved differs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from etl.pipeline import IngestOptions, PipelineHook, StageContext
    from etl.progress import ProgressReporter
    from etl.schema import Schema
    from etl.services import RunOutcome

ENGINES = ("polars", "spark")
DEFAULT_ENGINE = "polars"


class EngineProcess(Protocol):
    def __call__(
        self,
        ctx: StageContext,
        *,
        schema: Schema,
        options: IngestOptions,
        progress: ProgressReporter | None,
        hooks: list[PipelineHook],
    ) -> tuple[RunOutcome, int]: ...
