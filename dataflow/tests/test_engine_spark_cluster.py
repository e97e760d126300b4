"""``manage.py ingest --engine spark`` on a real standalone cluster (master + worker on 127.0.0.1).

The docs' "Running on a cluster" (docs/spark.md) commands, run: the command is the driver,
the worker's executors COPY into PostgreSQL and read the Parquet spool.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from customers.models import Customer
from dataflow.schema import load_schema
from dataflow.tests.spark_cluster_support import LOOPBACK_ENV, SparkCluster, spark_cluster  # noqa: F401
from ingestion.models import IngestionRun, QuarantinedRecord, RunStatus
from testsupport.ingest import CASES, child_env, ingest, run_of

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EVERY_RULE = CASES.parent / "quality" / "every_rule.csv"
"""Good rows, every rule failing at least once, a repeated customer_id."""
# --reject-above as ingest() below: most rows failing a rule is the point of the file.
INGEST_ARGS = ("--engine", "spark", "--reject-above", "100", "--json")
DRIVER_ENV = {
    "SPARK_CONF_SPARK_EXECUTOR_MEMORY": "512m",  # within the worker's 1 GiB
    "SPARK_CONF_SPARK_SQL_SHUFFLE_PARTITIONS": "4",  # a tiny file on one core
}
INGEST_TIMEOUT = 420
APP_FINISH_TIMEOUT = 60


def _customers() -> list[tuple[Any, ...]]:
    fields = [*load_schema().field_names, "source_file"]
    return list(Customer.objects.order_by("customer_id").values_list(*fields))


def _quarantine(run: IngestionRun) -> list[tuple[Any, ...]]:
    return list(
        QuarantinedRecord.objects.filter(run=run)
        .order_by("line_number", "id")
        .values_list("line_number", "raw", "raw_text", "rule_codes", "messages")
    )


def _finished_app(cluster: SparkCluster) -> dict[str, Any]:
    """The driver's application, once the master lists it as completed (the driver has exited)."""
    deadline = time.monotonic() + APP_FINISH_TIMEOUT
    while time.monotonic() < deadline:
        state = cluster.state()
        apps = [a for a in state.get("completedapps", []) if a.get("name") == settings.SPARK_APP_NAME]
        if apps:
            return dict(apps[0])
        time.sleep(0.5)
    raise AssertionError(f"the master lists no completed application: {state}")


@pytest.mark.django_db(transaction=True)
def test_ingest_on_a_standalone_cluster_loads_and_quarantines_what_polars_does(
    spark_cluster: SparkCluster,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = child_env(tmp_path / "spark") | LOOPBACK_ENV | DRIVER_ENV
    env["SPARK_MASTER"] = spark_cluster.master_url
    done = subprocess.run(
        [sys.executable, "manage.py", "ingest", "--path", str(EVERY_RULE), *INGEST_ARGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=INGEST_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{done.stderr[-4000:]}\n{spark_cluster.log_tail()}"
    on_cluster = json.loads(done.stdout)
    spark_run = IngestionRun.objects.get(pk=on_cluster["run_id"])
    assert spark_run.status == RunStatus.SUCCEEDED
    assert spark_run.report["engine"] == "spark"
    spark_customers, spark_quarantine = _customers(), _quarantine(spark_run)

    # The tasks ran on the worker's executor, not in a local driver.
    app = _finished_app(spark_cluster)
    executor_logs = list((spark_cluster.work_dir / app["id"]).glob("*/stderr"))
    assert executor_logs, f"the worker ran no executor for {app['id']}"
    assert any("Finished task" in log.read_text(errors="replace") for log in executor_logs)

    Customer.objects.all().delete()
    polars = ingest(tmp_path / "polars", EVERY_RULE, engine="polars", force=True)
    assert on_cluster["counts"] == polars.counts.as_dict()
    assert spark_customers == _customers()
    assert spark_quarantine == _quarantine(run_of(polars))
    assert spark_customers, "the file loads some customers"
    assert spark_quarantine, "the file quarantines some records"
