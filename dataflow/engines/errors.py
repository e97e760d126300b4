"""Engine errors and their one-line messages (asserted by the tests)."""

from __future__ import annotations

SPARK_NOT_INSTALLED = (
    "--engine spark needs PySpark, which is not installed: pip install -r requirements-spark.txt"
)
UNKNOWN_ENGINE = "unknown engine {name!r}: choose one of {choices}"


class EngineUnavailable(RuntimeError):
    """The chosen engine cannot run here (its package is missing): nothing was ingested."""
