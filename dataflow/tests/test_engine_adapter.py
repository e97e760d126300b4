"""The engine layer without a JVM: engine choice, the missing-PySpark line, SPARK_CONF_*, the adapter."""

from __future__ import annotations

import builtins
import importlib.util
import random
from typing import Any

import narwhals as nw
import polars as pl
import pytest
from django.core.management import CommandError, call_command

from dataflow.engines import SPARK_NOT_INSTALLED, EngineUnavailable, engine_check
from dataflow.engines.errors import UNKNOWN_ENGINE
from dataflow.engines.spark.conf import spark_conf_from, spark_conf_key
from dataflow.frames import (
    engine_of,
    quartiles_by_batch,
    quartiles_from_counts,
    regex_portable,
)
from dataflow.quality import load_ruleset


def _without_pyspark(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "pyspark" or name.startswith("pyspark.") else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    real_import = builtins.__import__

    def no_pyspark(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pyspark" or name.startswith("pyspark."):
            raise ModuleNotFoundError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)


def test_spark_engine_without_pyspark_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_pyspark(monkeypatch)
    with pytest.raises(EngineUnavailable) as caught:
        engine_check("spark")
    assert str(caught.value) == SPARK_NOT_INSTALLED


@pytest.mark.django_db
def test_ingest_command_with_spark_missing_fails_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from ingestion.models import IngestionRun

    path = tmp_path / "c.csv"
    path.write_text("Index\n1\n")
    _without_pyspark(monkeypatch)
    with pytest.raises(CommandError) as caught:
        call_command("ingest", "--path", str(path), "--engine", "spark")
    assert str(caught.value) == SPARK_NOT_INSTALLED
    assert not IngestionRun.objects.exists()


def test_unknown_engine_is_named() -> None:
    with pytest.raises(EngineUnavailable) as caught:
        engine_check("dask")
    assert str(caught.value) == UNKNOWN_ENGINE.format(name="dask", choices="polars, spark")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("SPARK_CONF_SPARK_EXECUTOR_MEMORY", "spark.executor.memory"),
        ("SPARK_CONF_spark_executor_memoryOverhead", "spark.executor.memoryOverhead"),
        ("SPARK_CONF_SPARK_KUBERNETES_CONTAINER_IMAGE", "spark.kubernetes.container.image"),
        ("SPARK_CONF_SPARK_SQL_FILES_MAX__PARTITION__BYTES", "spark.sql.files.max_partition_bytes"),
    ],
)
def test_spark_conf_variable_names_become_spark_keys(name: str, key: str) -> None:
    assert spark_conf_key(name) == key


def test_only_spark_conf_variables_are_taken() -> None:
    environ = {"SPARK_CONF_SPARK_EXECUTOR_CORES": "4", "SPARK_MASTER": "local[2]", "PATH": "/bin"}
    assert spark_conf_from(environ) == {"spark.executor.cores": "4"}


def test_engine_of_names_the_engine_holding_a_frame() -> None:
    assert engine_of(pl.DataFrame({"a": [1]})) == "polars"
    with pytest.raises(TypeError):
        engine_of([1, 2])


def test_shipped_rule_patterns_read_the_same_in_rust_and_java_regex() -> None:
    patterns = [rule.pattern for rule in load_ruleset().rules if rule.pattern]
    assert patterns
    assert all(regex_portable(p) for p in patterns), patterns


@pytest.mark.parametrize(
    "pattern", [r"(?P<x>a)", r"\bword\b", r"(?i)abc", r"\p{L}+", r"[[:alpha:]]", r"(a)\1"]
)
def test_patterns_the_two_dialects_read_differently_are_refused(pattern: str) -> None:
    assert not regex_portable(pattern)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_quartiles_from_counts_are_polars_linear_quantiles(seed: int) -> None:
    # What Spark computes (quartiles_from_counts) must be what Polars' quantile gives, per batch.
    rng = random.Random(seed)
    values = [rng.choice([None, *range(rng.randrange(1, 60))]) for _ in range(700)]
    frame = nw.from_native(
        pl.DataFrame({"b": [i // 90 for i in range(700)], "v": values}, schema={"b": pl.Int64, "v": pl.Int64})
    ).lazy()
    measures = [(nw.col("v"), "q1", "q3"), (nw.col("v") * 2 + 1, "d1", "d3")]
    native = quartiles_by_batch(frame, measures, batch_column="b")
    counted = quartiles_from_counts(frame, measures, batch_column="b")
    assert native.sort("b").rows() == counted.sort("b").select(native.columns).rows()
    assert native.height == 8
