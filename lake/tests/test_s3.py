"""The whole lake path on S3: a real S3-compatible server (moto) on 127.0.0.1."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from ingestion.models import LakeStatus
from lake import lake_publish_run, lake_raw_read, lake_raw_write
from lake.catalog import lake_catalogs_close
from lake.config import LakeConfig
from lake.maintenance import lake_maintenance, lake_snapshots
from lake.query import lake_query
from lake.tests.support import curated_as_pg, customer, load, make_run, pg_rows
from lake.zones import processed_path, raw_object_path

pytestmark = pytest.mark.django_db
BUCKET = "lake-bucket"
KEYS = {"access_key_id": "testing", "secret_access_key": "testing", "region": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint(moto_endpoint: str) -> str:
    endpoint = moto_endpoint
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    return endpoint


@pytest.fixture
def s3_lake(s3_endpoint: str, settings: Any) -> Iterator[LakeConfig]:
    settings.LAKE_ENABLED = True
    prefix = uuid.uuid4().hex[:8]
    yield LakeConfig(
        uri=f"s3://{BUCKET}/{prefix}", catalog_name=f"s3{prefix}", s3={"endpoint": s3_endpoint, **KEYS}
    )
    lake_catalogs_close()


def _keys(endpoint: str, prefix: str) -> set[str]:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"][len(prefix) + 1 :] for page in pages for o in page.get("Contents", [])}


def test_the_whole_lake_path_runs_on_s3(s3_lake, s3_endpoint, tmp_path: Path) -> None:
    content = b"index,customer_id\n1,A1\n"
    fetched = tmp_path / "customers.csv"
    fetched.write_bytes(content)
    sha = hashlib.sha256(content).hexdigest()
    run = make_run(sha256=sha)

    lake_raw_write(
        path=fetched, sha256=sha, source="s3", filename="customers.csv", run_id=run.pk, config=s3_lake
    )
    outcome = lake_publish_run(
        run=run, processed=load([customer("A1"), customer("B2")], run=run), config=s3_lake
    )
    second = make_run()
    lake_publish_run(run=second, processed=load([customer("B2", city="Lyon")], run=second), config=s3_lake)

    assert outcome.status == LakeStatus.SUCCEEDED
    assert lake_raw_read(sha256=sha, config=s3_lake) == content
    keys = _keys(s3_endpoint, s3_lake.uri.split("/", 3)[3])
    assert {raw_object_path(sha), processed_path(run.pk), processed_path(second.pk)} <= keys
    assert any(k.startswith("curated/customers_base/data/") for k in keys)
    assert curated_as_pg(s3_lake) == pg_rows()
    first = lake_snapshots(table_name="curated.customers", config=s3_lake)[0]["snapshot_id"]
    sql = "SELECT city FROM curated.customers WHERE customer_id = 'B2'"
    assert lake_query(sql=sql, as_of=str(first), config=s3_lake).rows == [{"city": "Paris"}]
    assert lake_query(sql=sql, config=s3_lake).rows == [{"city": "Lyon"}]
    assert len(lake_maintenance(config=s3_lake)) == 4
