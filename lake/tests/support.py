"""Shared set-up of the lake tests: a lake per test (its own folder and catalog name)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.utils import timezone

from customers.models import Customer
from dataflow.schema import load_schema
from ingestion.models import IngestionRun, RunStatus
from lake.catalog import lake_catalogs_close
from lake.config import LakeConfig

COMPARED = [*load_schema().field_names, "source_file"]


@pytest.fixture
def lake(tmp_path: Path, settings: Any) -> Iterator[LakeConfig]:
    """A lake of its own (folder, catalog name), switched on (tests run with LAKE_ENABLED off)."""
    settings.LAKE_ENABLED = True
    yield LakeConfig(uri=str(tmp_path / "lake"), catalog_name=f"t{uuid.uuid4().hex[:12]}")
    lake_catalogs_close()


def make_run(filename: str = "customers.csv", **fields: object) -> IngestionRun:
    defaults: dict[str, object] = {"source": "local", "sha256": "0" * 64, "status": RunStatus.SUCCEEDED}
    return IngestionRun.objects.create(filename=filename, **(defaults | fields))


def customer(
    customer_id: str, *, country: str = "France", day: dt.date = dt.date(2021, 1, 15), **fields: object
) -> dict[str, object]:
    row: dict[str, object] = {
        "index": 1,
        "customer_id": customer_id,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Engines Ltd",
        "city": "Paris",
        "country": country,
        "phone_1": "+33 1 23",
        "phone_2": None,
        "email": f"{customer_id}@example.com",
        "subscription_date": day,
        "website": None,
    }
    return row | fields


def load(rows: list[dict[str, object]], *, run: IngestionRun) -> pl.DataFrame:
    """What the pipeline's load does for ``rows`` (upsert by customer_id); returns the processed frame."""
    now = timezone.now()
    for row in rows:
        Customer.objects.update_or_create(
            customer_id=row["customer_id"],
            defaults={k: v for k, v in row.items() if k in COMPARED}
            | {"source_file": run.filename, "ingested_at": now},
        )
    return pl.DataFrame(rows, infer_schema_length=None)


def curated_rows(
    config: LakeConfig, name: str = "customers", snapshot_id: int | None = None
) -> list[dict[str, object]]:
    """A curated table as people query it (curated.customers: base and change log merged), now or
    as of a snapshot id."""
    from lake.query import lake_query

    as_of = str(snapshot_id) if snapshot_id is not None else None
    result = lake_query(sql=f"SELECT * FROM curated.{name}", as_of=as_of, config=config)
    return sorted(result.rows, key=lambda r: str(r.get("customer_id", "")))


def pg_rows() -> list[dict[str, object]]:
    return [dict(r) for r in Customer.objects.order_by("customer_id").values(*COMPARED, "ingested_at")]


def curated_as_pg(config: LakeConfig) -> list[dict[str, object]]:
    return [{k: r[k] for k in [*COMPARED, "ingested_at"]} for r in curated_rows(config)]
