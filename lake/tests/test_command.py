"""``manage.py lake`` (lake/management/commands/lake.py): thin mapping onto the lake functions."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from ingestion.models import LakeStatus
from lake import lake_publish_run
from lake.errors import ERR_BAD_AS_OF
from lake.management.commands.lake import ERR_UNREACHABLE
from lake.tests.support import customer, load, make_run

pytestmark = pytest.mark.django_db


def _lake(*args: str) -> str:
    out = io.StringIO()
    call_command("lake", *args, stdout=out)
    return out.getvalue()


def _publish(rows) -> int:
    run = make_run()
    lake_publish_run(run=run, processed=load(rows, run=run))
    return run.pk


def test_query_prints_json_rows(lake_on) -> None:
    _publish([customer("A1", country="Chile"), customer("B2", country="Chile")])
    out = _lake(
        "query", "SELECT country, count(*) AS n FROM curated.customers GROUP BY 1", "--format", "json"
    )
    assert json.loads(out) == [{"country": "Chile", "n": 2}]


def test_query_as_of_a_snapshot_prints_the_earlier_state_as_csv(lake_on) -> None:
    _publish([customer("A1", city="Paris")])
    first = json.loads(_lake("snapshots", "curated.customers", "--format", "json"))[0]["snapshot_id"]
    _publish([customer("A1", city="Lyon")])
    out = _lake("query", "SELECT city FROM curated.customers", "--format", "csv", "--as-of", str(first))
    assert out == "city\nParis\n"


def test_snapshots_json_lists_id_timestamp_and_run_id_oldest_first(lake_on) -> None:
    run_ids = [_publish([customer("A1")]), _publish([customer("B2")])]
    rows = json.loads(_lake("snapshots", "curated.customers", "--format", "json"))
    assert [r["run_id"] for r in rows] == run_ids
    assert {"snapshot_id", "timestamp", "run_id"} <= set(rows[0])


def test_snapshots_table_names_the_physical_table_of_each_snapshot(lake_on) -> None:
    _publish([customer("A1")])
    _publish([customer("B2")])
    lines = _lake("snapshots", "curated.customers").splitlines()
    assert [c.strip() for c in lines[0].split("|")][:2] == ["snapshot_id", "table"]
    assert [line.split("|")[1].strip() for line in lines[2:4]] == ["customers_base", "customers_changes"]


def test_bad_as_of_is_a_one_line_command_error(lake_on) -> None:
    _publish([customer("A1")])
    with pytest.raises(CommandError, match=ERR_BAD_AS_OF.format(value="soon")):
        _lake("query", "SELECT 1 FROM curated.customers", "--as-of", "soon")


def test_sync_repairs_and_reports(lake_on, tmp_path) -> None:
    good_uri = lake_on.LAKE_URI
    lake_on.LAKE_URI = str(tmp_path / "blocker")
    (tmp_path / "blocker").write_text("")
    failed = _publish([customer("A1")])
    lake_on.LAKE_URI = good_uri

    out = _lake("sync")

    assert out.strip().endswith(f"runs repaired: {failed}")
    assert make_run().__class__.objects.get(pk=failed).lake_status == LakeStatus.REPAIRED


def test_maintenance_reports_each_table(lake_on) -> None:
    _publish([customer("A1")])
    lines = _lake("maintenance").splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "curated.customers_base",
        "curated.customers_changes",
        "curated.customers_by_country_day",
        "curated.data_quality",
    ]


def test_an_unreachable_catalog_is_a_one_line_command_error(lake_on, tmp_path) -> None:
    lake_on.LAKE_CATALOG_URI = f"postgresql+psycopg:///nowhere?host={tmp_path}/no-socket"
    with pytest.raises(CommandError) as error:
        _lake("sync")
    message = str(error.value)
    assert message.startswith(ERR_UNREACHABLE.format(error="OperationalError: "))
    assert "\n" not in message


def test_verbose_query_prints_each_physical_scan_once(lake_on) -> None:
    _publish([customer("A1")])
    _publish([customer("B2")])
    err = io.StringIO()
    call_command(
        "lake",
        "query",
        "SELECT count(*) FROM curated.customers",
        verbosity=2,
        stdout=io.StringIO(),
        stderr=err,
    )
    tables = [line.split(":")[0] for line in err.getvalue().splitlines()]
    assert sorted(tables) == ["curated.customers_base", "curated.customers_changes"]
