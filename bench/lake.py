"""Benchmark of curated.customers: a run's upsert against a rebuild, a pruned query against a full one.

    .venv/bin/python bench/lake.py --rows 200000 --run-rows 2000

Builds N customers from scripts/downloads/customers-100.csv (distinct ids,
subscription dates over 36 months) in a temporary lake whose catalog is a
SQLite file (the catalog's database does not matter for the data I/O), then:

- rebuild: the whole table in one snapshot (what ``lake sync`` and a repair do);
- upsert: a run touching ``--run-rows`` customers of 3 months (what each
  ingest does): only those month partitions are rewritten;
- query: ``count(*)`` over one month through ``lake query`` (filter pushed
  into the Iceberg scan) against the same query without a filter.

Prints the best time of each and the ratios (baseline: rebuild, full query).
No PostgreSQL is needed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402

from lake.catalog import lake_catalog  # noqa: E402
from lake.config import LakeConfig  # noqa: E402
from lake.curated import customers_rebuild, customers_upsert  # noqa: E402
from lake.query import lake_query  # noqa: E402
from lake.tables import CUSTOMERS, RUN_ID, arrow_schema, conform, table_ensure  # noqa: E402

T = TypeVar("T")
SAMPLE = ROOT / "scripts" / "downloads" / "customers-100.csv"


def customers(rows: int) -> pl.DataFrame:
    sample = pl.read_csv(SAMPLE, infer_schema=False)
    sample = sample.rename({c: c.lower().replace(" ", "_") for c in sample.columns})
    copies = -(-rows // sample.height)
    data = pl.concat([sample] * copies).head(rows).with_row_index("n")
    month = pl.col("n") % 36
    return data.select(
        pl.col("index").cast(pl.Int64),
        pl.format("{}-{}", pl.col("customer_id"), pl.col("n")).alias("customer_id"),
        "first_name",
        "last_name",
        "company",
        "city",
        "country",
        "phone_1",
        "phone_2",
        "email",
        pl.date_ranges(pl.date(2020, 1, 1), pl.date(2022, 12, 1), "1mo")
        .list.get(month)
        .alias("subscription_date"),
        "website",
        pl.lit("bench.csv").alias("source_file"),
        pl.datetime(2026, 1, 1, time_zone="UTC").cast(pl.Datetime("us", "UTC")).alias("ingested_at"),
    )


def best_of(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--run-rows", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        config = LakeConfig(
            uri=f"{folder}/lake", catalog_name="bench", catalog_uri=f"sqlite:///{folder}/catalog.db"
        )
        table = table_ensure(lake_catalog(config), CUSTOMERS)
        frame = customers(args.rows)
        rows = conform(frame.to_arrow(), table)

        rebuild_s, _ = best_of(
            args.repeat, lambda: customers_rebuild(table, rows=rows, properties={RUN_ID: "0"})
        )
        in_run = frame.filter(pl.col("subscription_date").dt.month().is_in([1, 2, 3])).head(args.run_rows)
        run = conform(in_run.with_columns(pl.col("city") + " (moved)").to_arrow(), table)
        keys = [str(k) for k in in_run.get_column("customer_id").to_list()]

        def upsert() -> object:
            return customers_upsert(
                table, rows=run, keys=keys, expected_total=args.rows, properties={RUN_ID: "1"}
            )

        upsert_s, result = best_of(args.repeat, upsert)
        assert result is not None, "upsert fell back to a rebuild"

        month = "WHERE subscription_date >= DATE '2021-06-01' AND subscription_date < DATE '2021-07-01'"
        full_s, full = best_of(
            args.repeat, lambda: lake_query(sql="SELECT count(*) AS n FROM curated.customers", config=config)
        )
        pruned_s, pruned = best_of(
            args.repeat,
            lambda: lake_query(sql=f"SELECT count(*) AS n FROM curated.customers {month}", config=config),
        )
        assert isinstance(arrow_schema(table), pa.Schema)

    print(
        f"customers: {args.rows:,} rows in 36 month partitions; a run touches {len(keys):,} rows in 3 months"
    )
    print(f"rebuild (baseline)  {rebuild_s * 1000:9.1f} ms")
    print(f"upsert of the run   {upsert_s * 1000:9.1f} ms   ratio {upsert_s / rebuild_s:.2f}")
    f, p = full.scans["customers"], pruned.scans["customers"]
    print(
        f"query, no filter    {full_s * 1000:9.1f} ms   {f.files_scanned} files, {full.rows[0]['n']:,} rows"
    )
    print(
        f"query, one month    {pruned_s * 1000:9.1f} ms   {p.files_scanned} files, "
        f"{pruned.rows[0]['n']:,} rows   ratio {pruned_s / full_s:.2f}"
    )


if __name__ == "__main__":
    main()
