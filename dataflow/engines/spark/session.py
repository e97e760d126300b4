"""One SparkSession per process, configured from settings (``SPARK_MASTER``, ``SPARK_CONF_*``)."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import TYPE_CHECKING

from django.conf import settings

from dataflow.engines.errors import SPARK_NOT_INSTALLED, EngineUnavailable
from dataflow.frames import SPARK_CONF

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.adaptive.enabled": "true",
}
"""Defaults for every session; ``SPARK_CONF_*`` settings override them."""


def spark_available() -> bool:
    return importlib.util.find_spec("pyspark") is not None


def spark_check() -> None:
    """Raise :class:`EngineUnavailable` (one line: how to install it) when PySpark is missing."""
    if not spark_available():
        raise EngineUnavailable(SPARK_NOT_INSTALLED)


def spark_conf(*, master: str) -> dict[str, str]:
    """The configuration a session gets: defaults, then the engine's needs, then ``SPARK_CONF_*``."""
    conf = dict(LOCAL_CONF)
    if master.startswith("local"):
        conf["spark.sql.shuffle.partitions"] = str(settings.SPARK_SHUFFLE_PARTITIONS)
    conf.update(SPARK_CONF)
    conf.update(settings.SPARK_CONF)
    return conf


def spark_session(*, master: str | None = None) -> SparkSession:
    """The process's SparkSession (made on first use: 20-60 s for a local JVM on 2 cores)."""
    spark_check()
    from pyspark.sql import SparkSession

    master = master or settings.SPARK_MASTER
    # Python workers must run the interpreter (and virtualenv) of the driver.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(settings.SPARK_APP_NAME)
    for key, value in spark_conf(master=master).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(settings.SPARK_LOG_LEVEL)
    return session
