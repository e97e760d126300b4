"""The Spark engine against the Polars engine: same files in, same customers, quarantine, counts, lake.

Every test here shares one local[2] SparkSession (``spark_support.spark``) and
is marked ``spark``; ``-m "not spark"`` skips them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import narwhals as nw
import polars as pl
import pytest
from django.core.management import call_command

from customers.models import Customer
from dataflow.parsing import date_from_text
from dataflow.schema import load_schema
from dataflow.tests.spark_support import spark_fixture  # noqa: F401  (the shared session: `spark`)
from ingestion.models import IngestionRun, LakeStatus, QuarantinedRecord, RunStatus
from testsupport.ingest import CASES, HEADER, SAMPLE, customer_lines, ingest, run_of

pytestmark = [pytest.mark.spark, pytest.mark.slow]

QUALITY_CASES = CASES.parent / "quality"
PARITY_FILES = [
    QUALITY_CASES / "every_rule.csv",  # good rows, every rule failing at least once, a repeated key
    CASES / "duplicates.csv",  # exact duplicates and the same customer_id twice
    CASES / "last_quarantined.csv",  # keys whose last record is quarantined: none of theirs loaded
    CASES / "nested.json",  # nested JSON, flattened, with extra columns
    CASES / "ragged.csv",  # records the reader sets aside, lines fixed after the read
    CASES / "storable.csv",  # NUL bytes and a too-long value beside a rule failure, in that order
]
RUN_FIELDS = (
    "status",
    "rows_read",
    "rows_loaded",
    "rows_inserted",
    "rows_updated",
    "rows_unchanged",
    "rows_duplicates",
    "rows_quarantined",
    "warnings",
)


def _outcome(run: IngestionRun) -> dict[str, Any]:
    """What must not depend on the engine: the customers table, the run's quarantine and counts."""
    fields = [*load_schema().field_names, "source_file"]
    return {
        "customers": list(Customer.objects.order_by("customer_id").values_list(*fields)),
        "quarantine": list(
            QuarantinedRecord.objects.filter(run=run)
            .order_by("line_number", "id")
            .values_list("line_number", "raw", "raw_text", "rule_codes", "messages")
        ),
        "run": {name: getattr(run, name) for name in RUN_FIELDS},
        "report": {
            key: run.report.get(key)
            for key in ("failures", "duplicates", "extra_columns", "mapping", "quality")
        },
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", PARITY_FILES, ids=[p.name for p in PARITY_FILES])
def test_spark_and_polars_load_and_quarantine_the_same(tmp_path: Path, spark: Any, path: Path) -> None:
    outcomes = {}
    for engine in ("polars", "spark"):
        Customer.objects.all().delete()
        result = ingest(tmp_path / engine, path, engine=engine, force=True)
        run = run_of(result)
        assert run.status == RunStatus.SUCCEEDED, run.error_message
        outcomes[engine] = _outcome(run)
    assert outcomes["spark"] == outcomes["polars"]
    assert outcomes["spark"]["customers"], "the file loads some customers"


def _tricky(tmp_path: Path) -> Path:
    from dataflow.tests.test_engine_spark_split import tricky_file

    tmp_path.mkdir(parents=True, exist_ok=True)
    return tricky_file(tmp_path / "tricky.csv")


SPLIT_FILES = {
    "customers-100.csv": lambda _tmp: SAMPLE,
    "quoted_multiline.csv": lambda _tmp: CASES / "quoted_multiline.csv",
    "every_rule.csv": lambda _tmp: QUALITY_CASES / "every_rule.csv",
    "tricky.csv": _tricky,  # quoted newlines, ragged, blank and undecodable rows, cut anywhere
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(SPLIT_FILES))
def test_csv_cut_into_ranges_on_the_executors_loads_and_quarantines_as_polars(
    tmp_path: Path, spark: Any, settings: Any, name: str
) -> None:
    settings.SPARK_SPLIT_BYTES = 300
    path = SPLIT_FILES[name](tmp_path / "in")
    outcomes = {}
    for engine in ("polars", "spark"):
        Customer.objects.all().delete()
        run = run_of(ingest(tmp_path / engine, path, engine=engine, force=True, batch_size=40))
        assert run.status == RunStatus.SUCCEEDED, run.error_message
        outcomes[engine] = _outcome(run)
    assert outcomes["spark"] == outcomes["polars"]
    read = run.report["spark_read"]
    assert read["mode"] == "executors"
    assert read["ranges"] > 1


@pytest.mark.django_db(transaction=True)
def test_csv_that_fails_the_range_check_is_read_on_the_driver_alike(
    tmp_path: Path, spark: Any, settings: Any
) -> None:
    settings.SPARK_SPLIT_BYTES = 120
    lines = customer_lines(40, seed=5)
    lines[3] = lines[3].replace("First4", "Tall 5'10\" First4")  # a quote inside an unquoted value
    fields = lines[20].split(",")
    fields[4] = '"Multi\nline Company"'
    lines[20] = ",".join(fields)
    path = tmp_path / "stray.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    outcomes = {}
    for engine in ("polars", "spark"):
        Customer.objects.all().delete()
        run = run_of(ingest(tmp_path / engine, path, engine=engine, force=True))
        outcomes[engine] = _outcome(run)
    assert outcomes["spark"] == outcomes["polars"]
    assert run.report["spark_read"]["mode"] == "driver"
    assert run.report["spark_read"]["reason"].startswith("range ")


@pytest.mark.django_db(transaction=True)
def test_ingest_command_with_engine_spark_publishes_the_same_lake_as_polars(
    spark: Any, lake_on: Any, tmp_path: Path
) -> None:
    from lake import lake_processed_read

    path = CASES / "nested.json"
    processed = {}
    for engine in ("polars", "spark"):
        out = io.StringIO()
        call_command("ingest", "--path", str(path), "--engine", engine, "--force", stdout=out)
        run = IngestionRun.objects.latest("id")
        assert (run.status, run.lake_status) == (RunStatus.SUCCEEDED, LakeStatus.SUCCEEDED), run.lake_error
        assert f"{path.name}: succeeded (run {run.pk})" in out.getvalue()
        frame = lake_processed_read(run_id=run.pk).drop("ingested_at")
        processed[engine] = frame.sort("source_line")
    assert processed["spark"].columns == processed["polars"].columns
    assert processed["spark"].to_dicts() == processed["polars"].to_dicts()
    assert run.report["engine"] == "spark"
    assert not list((tmp_path / "work").glob(".spark-spool/run-*")), "the run's Parquet spool is removed"


def test_lenient_date_parsing_gives_null_not_an_error_on_spark(spark: Any) -> None:
    texts = ["2020-02-29", "2021-02-29", "2020-13-01", "junk", None]
    native = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "i long, t string")
    parsed = nw.from_native(native).with_columns(d=date_from_text(nw.col("t"), ("%Y-%m-%d",)))
    on_spark = [r["d"] for r in parsed.to_native().orderBy("i").collect()]
    polars_frame = nw.from_native(pl.DataFrame({"t": texts}))
    on_polars = polars_frame.select(d=date_from_text(nw.col("t"), ("%Y-%m-%d",)))["d"].to_list()
    assert on_spark == on_polars
    assert on_spark[0] is not None
    assert on_spark[1:] == [None] * 4


@pytest.mark.django_db(transaction=True)
def test_file_over_the_reject_threshold_is_rejected_alike_by_both_engines(tmp_path: Path, spark: Any) -> None:
    path = QUALITY_CASES / "over_reject.csv"
    outcomes = {}
    for engine in ("polars", "spark"):
        result = ingest(tmp_path / engine, path, engine=engine, force=True, reject_above=10.0)
        run = run_of(result)
        outcomes[engine] = (result.message, _outcome(run))
    assert outcomes["spark"] == outcomes["polars"]
    assert outcomes["spark"][1]["run"]["status"] == RunStatus.REJECTED
    assert not Customer.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("batch_size", [1000, 2])
def test_a_unique_value_repeated_across_batches_is_quarantined_alike_by_both_engines(
    tmp_path: Path, spark: Any, batch_size: int
) -> None:
    from dataflow.tests.test_quality_repeats import emails_repeated_across, ingest_with, schema_with_unique

    path, schema = emails_repeated_across(tmp_path), schema_with_unique("email")
    outcomes = {}
    for engine in ("polars", "spark"):
        Customer.objects.all().delete()
        run = ingest_with(tmp_path / engine, path, schema, engine=engine, batch_size=batch_size, force=True)
        assert (run.rows_read, run.rows_loaded, run.rows_quarantined) == (4, 2, 2), engine
        outcomes[engine] = _outcome(run)
    assert outcomes["spark"] == outcomes["polars"]


@pytest.mark.django_db(transaction=True)
def test_a_record_spark_flags_without_a_worded_reason_fails_the_run_rather_than_vanish(
    tmp_path: Path, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from dataflow.engines.spark import quality as spark_quality_module

    judged = spark_quality_module.stage_quality

    def one_reason_short(**kwargs: Any) -> Any:  # a rule judged differently by the two sides
        stage = judged(**kwargs)
        return replace(stage, checked=replace(stage.checked, quarantined=stage.checked.quarantined[1:]))

    monkeypatch.setattr(spark_quality_module, "stage_quality", one_reason_short)
    run = run_of(ingest(tmp_path, QUALITY_CASES / "every_rule.csv", engine="spark"))
    assert run.status == RunStatus.FAILED
    assert "the run stops rather than lose a record" in run.error_message
    assert not Customer.objects.exists()
