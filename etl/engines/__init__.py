"""Execution engines (issue #8): the same declaration run by Polars (default) or Spark.

:func:`engine_process` gives the pipeline the function that processes a file;
:func:`engine_check` fails early, with one line, when an engine cannot run here.
Importing this package imports neither Polars-specific stages nor PySpark.
"""

from __future__ import annotations

from etl.engines.base import DEFAULT_ENGINE, ENGINES, EngineProcess
from etl.engines.errors import SPARK_NOT_INSTALLED, UNKNOWN_ENGINE, EngineUnavailable


def engine_check(name: str) -> None:
    """Raise :class:`EngineUnavailable` unless engine ``name`` can run in this process."""
    if name not in ENGINES:
        raise EngineUnavailable(UNKNOWN_ENGINE.format(name=name, choices=", ".join(ENGINES)))
    if name == "spark":
        from etl.engines.spark.session import spark_check

        spark_check()


def engine_process(name: str) -> EngineProcess:
    """The processing function of engine ``name`` (checked first)."""
    engine_check(name)
    if name == "spark":
        from etl.engines.spark.process import spark_process

        return spark_process
    from etl.engines.polars_engine import polars_process

    return polars_process()


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "SPARK_NOT_INSTALLED",
    "EngineProcess",
    "EngineUnavailable",
    "engine_check",
    "engine_process",
]
