"""``SPARK_CONF_<KEY>=value`` environment variables → Spark configuration keys (no Spark import)."""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "SPARK_CONF_"


def spark_conf_key(name: str) -> str:
    """``SPARK_CONF_SPARK_EXECUTOR_MEMORY`` → ``spark.executor.memory``.

    After the prefix: ``_`` is a dot and ``__`` an underscore; an all-capitals
    key is lower-cased, a mixed-case one kept as written, for Spark's camelCase
    keys (``SPARK_CONF_spark_executor_memoryOverhead``).
    """
    key = name.removeprefix(PREFIX)
    if key.isupper():
        key = key.lower()
    return ".".join(part.replace("\0", "_") for part in key.replace("__", "\0").split("_"))


def spark_conf_from(environ: Mapping[str, str]) -> dict[str, str]:
    """Every ``SPARK_CONF_*`` variable of ``environ`` as a Spark setting."""
    return {spark_conf_key(name): value for name, value in environ.items() if name.startswith(PREFIX)}
