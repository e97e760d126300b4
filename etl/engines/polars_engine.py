"""The default engine: Polars, one batch at a time, in this process (``etl.pipeline._process``)."""

from __future__ import annotations

from etl.engines.base import EngineProcess


def polars_process() -> EngineProcess:
    from etl.pipeline import _process

    return _process
