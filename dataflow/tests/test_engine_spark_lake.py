"""The lake the Spark engine leaves against the Polars engine's (issue #16, goal 5).

The same files go through both engines with the lake on, each engine in a
lake of its own: a first file into the empty table (a rebuild), then the
parity files (their changes through the outbox). Both lakes must hold the same
curated customers, the same change log and counts, and the same snapshots: the
same physical tables, one snapshot per run and table, in the same order; and
each run's processed records (written by Spark itself, uploaded by the same hook).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from customers.models import Customer
from dataflow.tests.spark_support import spark_fixture  # noqa: F401  (the shared session: `spark`)
from dataflow.tests.test_engine_spark import PARITY_FILES
from ingestion.models import LakeStatus, RunStatus
from ingestion.pipeline import ingest_file
from lake import lake_processed_read
from lake.catalog import lake_catalog, lake_catalogs_close
from lake.changelog import CHANGE_RUN, CHANGE_SEQ
from lake.config import NAMESPACE, LakeConfig
from lake.hook import LakeHook
from lake.query import lake_query
from lake.tables import OPERATION, RUN_ID
from lake.views import PHYSICAL
from testsupport.ingest import HEADER, SAMPLE, inbox_with, options_for, run_of

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PER_RUN = ("ingested_at", CHANGE_SEQ)
"""Columns that differ between two loads of the same files (a clock, a database sequence)."""


def _moved(tmp_path: Path) -> Path:
    """Customers of the sample moved to another country: updates, counts -1 in one place, +1 in another."""
    lines = SAMPLE.read_text().splitlines()[1:8]
    path = tmp_path / "moved.csv"
    moved = [",".join([*f[:6], "Atlantis", *f[7:]]) for f in (line.split(",") for line in lines)]
    path.write_text("\n".join([HEADER, *moved]) + "\n")
    return path


def _runs(tmp_path: Path, engine: str, files: list[Path]) -> list[int]:
    """Ingest ``files`` in order with the lake hook; the run ids, each run's lake step done."""
    ids = []
    for path in files:
        result = ingest_file(
            source=inbox_with(tmp_path, path),
            name=path.name,
            options=options_for(tmp_path, engine=engine, force=True),
            hooks=[LakeHook()],
        )
        run = run_of(result)
        assert (run.status, run.lake_status) == (RunStatus.SUCCEEDED, LakeStatus.SUCCEEDED), (
            run.error_message or run.lake_error
        )
        ids.append(run.pk)
    return ids


def _rows(config: LakeConfig, name: str, order: dict[int, int]) -> list[dict[str, Any]]:
    """``curated.<name>`` without the per-run columns, run ids as the run's place in the sequence."""
    rows = lake_query(sql=f"SELECT * FROM {NAMESPACE}.{name}", config=config).rows
    kept = [
        {
            k: (order[v] if k == CHANGE_RUN and v is not None else v)
            for k, v in row.items()
            if k not in PER_RUN
        }
        for row in rows
    ]
    return sorted(kept, key=repr)


def _snapshots(config: LakeConfig, order: dict[int, int]) -> dict[str, list[tuple[Any, ...]]]:
    """Per physical table of the namespace: its snapshots, oldest first, as (operation, run, rows added)."""
    catalog = lake_catalog(config)
    shapes = {}
    for _namespace, name in sorted(catalog.list_tables(NAMESPACE)):
        table = catalog.load_table((NAMESPACE, name))
        snapshots = []
        for snapshot in table.snapshots():
            props = snapshot.summary.additional_properties if snapshot.summary else {}
            run = order.get(int(props[RUN_ID])) if RUN_ID in props else None
            snapshots.append((props.get(OPERATION), run, props.get("added-records")))
        shapes[name] = snapshots
    return shapes


def _processed(config: LakeConfig, run_id: int) -> tuple[list[str], list[dict[str, Any]]]:
    """The run's processed records (extra columns included), by line."""
    frame = lake_processed_read(run_id=run_id, config=config).drop("ingested_at").sort("source_line")
    return frame.columns, frame.to_dicts()


def _lake_of(tmp_path: Path, engine: str, settings: Any, files: list[Path]) -> dict[str, Any]:
    config = LakeConfig(uri=str(tmp_path / engine / "lake"), catalog_name=f"t{uuid.uuid4().hex[:12]}")
    settings.LAKE_URI, settings.LAKE_CATALOG_NAME = config.uri, config.catalog_name
    Customer.objects.all().delete()
    runs = _runs(tmp_path / engine, engine, files)
    order = {run_id: place for place, run_id in enumerate(runs)}
    return {
        "customers": _rows(config, "customers", order),
        "changes": _rows(config, "customers_changes", order),
        "by_country": _rows(config, "customers_by_country", order),
        "by_month": _rows(config, "customers_by_month", order),
        "snapshots": _snapshots(config, order),
        "processed": [_processed(config, run_id) for run_id in runs],
    }


@pytest.mark.django_db(transaction=True)
def test_spark_and_polars_leave_the_same_lake_tables_rows_and_snapshots(
    tmp_path: Path, spark: Any, settings: Any
) -> None:
    settings.LAKE_ENABLED = True
    settings.INGEST_WORK_DIR = tmp_path / "work"
    files = [SAMPLE, *PARITY_FILES, _moved(tmp_path)]
    try:
        lakes = {engine: _lake_of(tmp_path, engine, settings, files) for engine in ("polars", "spark")}
    finally:
        lake_catalogs_close()

    polars, spark_lake = lakes["polars"], lakes["spark"]
    for part in ("customers", "changes", "by_country", "by_month", "snapshots", "processed"):
        assert spark_lake[part] == polars[part], part
    assert set(polars["snapshots"]) >= set(PHYSICAL)
    assert {row["country"] for row in polars["customers"]} >= {"Atlantis"}
    ops = {row["_change_op"] for row in polars["changes"]}
    assert ops == {"i", "u"}, "the parity files insert new customers and update the sample's"
    for name in PHYSICAL:  # one snapshot per run and table: the first run rebuilt, the others appended
        runs = [run for _op, run, _added in polars["snapshots"][name]]
        assert runs == sorted(set(runs)), name
