"""Execution engines (issue #8): the same declaration run by Polars (default) or Spark.

:func:`engine_for` gives the orchestrator the engine that stages a file;
:func:`engine_check` fails early, with one line, when an engine cannot run here.
Importing this package imports neither an engine's stages nor PySpark.
"""

from __future__ import annotations

from dataflow.engines.base import DEFAULT_ENGINE, ENGINES, Engine, RunningAmong, StagedFile
from dataflow.engines.errors import SPARK_NOT_INSTALLED, UNKNOWN_ENGINE, EngineUnavailable


def _engine(name: str) -> Engine:
    # Imported on use: the Spark engine's modules are large, and this package is imported everywhere.
    if name == "spark":
        from dataflow.engines.spark.process import SparkEngine

        return SparkEngine()
    from dataflow.engines.polars_engine import PolarsEngine

    return PolarsEngine()


def engine_check(name: str) -> None:
    """Raise :class:`EngineUnavailable` unless engine ``name`` can run in this process."""
    if name not in ENGINES:
        raise EngineUnavailable(UNKNOWN_ENGINE.format(name=name, choices=", ".join(ENGINES)))
    _engine(name).check()


def engine_for(name: str) -> Engine:
    """Engine ``name`` (checked first)."""
    engine_check(name)
    return _engine(name)


def leftovers_drop(*, running: RunningAmong) -> list[str]:
    """Every engine's leftovers of killed runs (whichever engine this ingest uses); their names."""
    return [name for engine in ENGINES for name in _engine(engine).leftovers_drop(running=running)]


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "SPARK_NOT_INSTALLED",
    "Engine",
    "EngineUnavailable",
    "StagedFile",
    "engine_check",
    "engine_for",
    "leftovers_drop",
]
