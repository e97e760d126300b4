"""One SparkSession for every Spark test of a pytest run (local[2]: a JVM costs 20-60 s to start)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session", name="spark")
def spark_fixture() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="requirements-spark.txt is not installed")
    from dataflow.engines.spark.session import spark_session

    session = spark_session(master="local[2]")
    yield session
    session.stop()
