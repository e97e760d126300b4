"""Engine errors and their one-line messages (asserted by the tests)."""

from __future__ import annotations

SPARK_NOT_INSTALLED = (
    "--engine spark needs PySpark, which is not installed: pip install -r requirements-spark.txt"
)
UNKNOWN_ENGINE = "unknown engine {name!r}: choose one of {choices}"


class EngineUnavailable(RuntimeError):
    """The chosen engine cannot run here (its package is missing): nothing was ingested."""


SPARK_QUALITY_MISMATCH = (
    "Spark found {flagged} failing records in reader batch {batch} where the quality stage words"
    " reasons for {worded}: the run stops rather than lose a record"
)


class SparkQualityMismatch(RuntimeError):
    """Spark's verdict over the file and the quality stage's over one batch disagree (a rule judged
    differently on the two): a failed run, never a record that is neither loaded nor quarantined."""
