"""SQL over the curated tables (lake/query.py, lake/pushdown.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lake import LakeError, lake_publish_run
from lake.errors import ERR_BAD_AS_OF, ERR_NO_SNAPSHOT, ERR_NO_SUCH_TABLE, ERR_NO_TABLES_IN_QUERY
from lake.maintenance import lake_snapshots
from lake.pushdown import parse_tree, row_filters
from lake.query import lake_query, result_render
from lake.tests import support as lake_support
from lake.tests.support import customer, load, make_run
from lake.views import TABLES

lake = lake_support.lake
pytestmark = pytest.mark.django_db

SIX_MONTHS = [
    customer(f"C{m}", country="Chile" if m % 2 else "France", day=dt.date(2021, m, 10)) for m in range(1, 7)
]


@pytest.fixture
def published(lake):
    run = make_run()
    lake_publish_run(run=run, processed=load(SIX_MONTHS, run=run), config=lake)
    return lake


def test_query_runs_sql_over_curated_tables(published) -> None:
    result = lake_query(
        sql="SELECT country, count(*) AS n FROM curated.customers GROUP BY country ORDER BY country",
        config=published,
    )
    assert result.rows == [{"country": "Chile", "n": 3}, {"country": "France", "n": 3}]


def test_a_partition_filter_scans_fewer_files_than_no_filter(published) -> None:
    whole = lake_query(sql="SELECT count(*) AS n FROM curated.customers", config=published)
    pruned = lake_query(
        sql="SELECT count(*) AS n FROM curated.customers c WHERE c.subscription_date >= DATE '2021-05-01'",
        config=published,
    )
    assert (whole.rows, pruned.rows) == ([{"n": 6}], [{"n": 2}])
    assert whole.scans["customers"].files_scanned == 6
    assert pruned.scans["customers"].files_scanned == 2
    assert pruned.scans["customers"].row_filter == "subscription_date >= 2021-05-01"


def test_a_table_read_twice_without_filter_once_is_scanned_whole(published) -> None:
    result = lake_query(
        sql="SELECT (SELECT count(*) FROM curated.customers) AS total, count(*) AS recent "
        "FROM curated.customers WHERE subscription_date >= '2021-06-01'",
        config=published,
    )
    assert result.rows == [{"total": 6, "recent": 1}]
    assert result.scans["customers"].files_scanned == 6


def test_pushed_filters_only_take_conjuncts_they_understand() -> None:
    tree = parse_tree(
        "SELECT * FROM curated.customers WHERE country IN ('France', 'Chile') AND lower(city) = 'paris' "
        "AND index BETWEEN 1 AND 5"
    )
    (pushed,) = row_filters(tree, {"customers": {"country", "city", "index"}}).values()
    assert "city" not in str(pushed)
    assert "country" in str(pushed)
    assert "index" in str(pushed)


def test_as_of_snapshot_id_returns_the_earlier_state(published) -> None:
    first = lake_snapshots(table_name="curated.customers", config=published)[-1]["snapshot_id"]
    run = make_run()
    lake_publish_run(
        run=run,
        processed=load([customer("C1", country="Peru", day=dt.date(2021, 1, 10))], run=run),
        config=published,
    )

    sql = "SELECT country FROM curated.customers WHERE customer_id = 'C1'"
    assert lake_query(sql=sql, config=published).rows == [{"country": "Peru"}]
    assert lake_query(sql=sql, as_of=str(first), config=published).rows == [{"country": "Chile"}]


def test_as_of_timestamp_reads_every_table_as_it_was(published) -> None:
    between = dt.datetime.now(tz=dt.UTC)
    run = make_run()
    lake_publish_run(run=run, processed=load([customer("C9", country="Peru")], run=run), config=published)

    sql = (
        "SELECT (SELECT count(*) FROM curated.customers) AS n, "
        "(SELECT sum(customers) FROM curated.customers_by_country) AS m"
    )
    assert lake_query(sql=sql, config=published).rows == [{"n": 7, "m": 7}]
    assert lake_query(sql=sql, as_of=between.isoformat(), config=published).rows == [{"n": 6, "m": 6}]


def test_as_of_before_the_first_snapshot_is_a_clear_error(published) -> None:
    with pytest.raises(LakeError) as error:
        lake_query(sql="SELECT 1 FROM curated.customers", as_of="2000-01-01T00:00:00", config=published)
    assert str(error.value) == ERR_NO_SNAPSHOT.format(
        table="curated.customers", when="2000-01-01T00:00:00+00:00"
    )


def test_bad_as_of_is_a_clear_error(published) -> None:
    with pytest.raises(LakeError) as error:
        lake_query(sql="SELECT 1 FROM curated.customers", as_of="yesterday", config=published)
    assert str(error.value) == ERR_BAD_AS_OF.format(value="yesterday")


def test_unknown_table_and_query_without_lake_table_are_clear_errors(published) -> None:
    with pytest.raises(LakeError) as unknown:
        lake_query(sql="SELECT * FROM curated.nope", config=published)
    assert str(unknown.value) == ERR_NO_SUCH_TABLE.format(name="curated.nope", tables=", ".join(TABLES))
    with pytest.raises(LakeError) as none:
        lake_query(sql="SELECT 1", config=published)
    assert str(none.value) == ERR_NO_TABLES_IN_QUERY.format(tables=", ".join(TABLES))


def test_results_render_as_table_csv_and_json(published) -> None:
    result = lake_query(
        sql="SELECT customer_id, subscription_date, website FROM curated.customers ORDER BY 1 LIMIT 2",
        config=published,
    )
    assert (
        result_render(result, fmt="csv")
        == "customer_id,subscription_date,website\nC1,2021-01-10,\nC2,2021-02-10,"
    )
    assert json.loads(result_render(result, fmt="json")) == [
        {"customer_id": "C1", "subscription_date": "2021-01-10", "website": None},
        {"customer_id": "C2", "subscription_date": "2021-02-10", "website": None},
    ]
    assert result_render(result).splitlines() == [
        "customer_id | subscription_date | website",
        "------------+-------------------+--------",
        "C1          | 2021-01-10        | NULL",
        "C2          | 2021-02-10        | NULL",
        "(2 rows)",
    ]


def test_only_select_statements_run(published) -> None:
    with pytest.raises(LakeError, match=r"^query failed: Only SELECT statements"):
        lake_query(sql="DELETE FROM curated.customers", config=published)
