"""The Iceberg catalog (lake/catalog.py): pyiceberg's SQL catalog in our PostgreSQL by default."""

from __future__ import annotations

import pytest
from django.db import connection
from sqlalchemy.engine import make_url

from lake import lake_publish_run
from lake.catalog import ERR_CATALOG_URI, catalog_properties, database_url, django_database_url
from lake.config import LakeConfig
from lake.tests import support as lake_support
from lake.tests.support import customer, load, make_run

lake = lake_support.lake
pytestmark = pytest.mark.django_db


def test_catalog_url_points_at_djangos_database_and_its_own_schema() -> None:
    url = make_url(django_database_url(schema="iceberg_catalog"))
    assert url.drivername == "postgresql+psycopg"
    assert url.database == connection.settings_dict["NAME"]  # the test database under tests
    assert url.query["options"] == "-csearch_path=iceberg_catalog"


def test_catalog_tables_live_in_their_own_postgresql_schema(lake) -> None:
    run = make_run()
    lake_publish_run(run=run, processed=load([customer("A1")], run=run), config=lake)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM iceberg_catalog.iceberg_tables WHERE catalog_name = %s ORDER BY 1",
            [lake.catalog_name],
        )
        names = [row[0] for row in cursor.fetchall()]
    assert names == ["customers_base", "customers_by_country_day", "customers_changes", "data_quality"]


def test_pyiceberg_environment_variables_override_catalog_properties(monkeypatch) -> None:
    monkeypatch.setenv("PYICEBERG_CATALOG__LAKE__URI", "sqlite:////tmp/elsewhere.db")
    monkeypatch.setenv("PYICEBERG_CATALOG__LAKE__S3__REGION", "eu-west-3")
    props = catalog_properties(LakeConfig(uri="s3://bucket/lake", catalog_name="lake"))
    assert props["uri"] == "sqlite:////tmp/elsewhere.db"
    assert props["s3.region"] == "eu-west-3"
    assert props["warehouse"] == "s3://bucket/lake"


def test_a_rest_catalog_needs_a_uri() -> None:
    with pytest.raises(ValueError, match=ERR_CATALOG_URI.format(kind="rest")):
        catalog_properties(LakeConfig(uri="/tmp/lake", catalog_name="nowhere", catalog_type="rest"))


def test_catalog_url_of_a_tcp_server_keeps_credentials_and_escapes_them() -> None:
    params = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "customers",
        "USER": "etl",
        "PASSWORD": "p@ss:w/rd",
        "HOST": "db.internal",
        "PORT": 5433,
    }
    url = make_url(database_url(params, schema="iceberg_catalog"))
    assert (url.host, url.port, url.username, url.password, url.database) == (
        "db.internal",
        5433,
        "etl",
        "p@ss:w/rd",
        "customers",
    )
