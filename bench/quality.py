"""Benchmark of the quality stage on one batch of N records, against the transform as baseline.

    .venv/bin/python bench/quality.py --rows 100000 --repeat 3

Builds N records from scripts/downloads/customers-100.csv (distinct ids; 5%
bad emails, 1% impossible dates, 1% unparseable index), runs the transform
(trim, cast: the baseline every batch pays anyway) and then the quality stage
as the pipeline does (``batch_check``: every shipped rule, outliers, messages
for the failing records). Prints the best time of each, records per second,
and the ratio quality / transform. No Django database is needed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import polars as pl  # noqa: E402

from dataflow.quality import LINE_COLUMN, load_ruleset  # noqa: E402
from dataflow.quality.batch import batch_check  # noqa: E402
from dataflow.transform import TransformConfig, frame_transform  # noqa: E402

T = TypeVar("T")
SAMPLE = ROOT / "scripts" / "downloads" / "customers-100.csv"


def batch_text(rows: int) -> pl.DataFrame:
    """N text records named as the schema's fields, on lines 2..N+1, with a few bad ones."""
    sample = pl.read_csv(SAMPLE, infer_schema=False)
    sample = sample.rename({c: c.lower().replace(" ", "_") for c in sample.columns})
    copies = -(-rows // sample.height)
    data = pl.concat([sample] * copies).head(rows).with_row_index(LINE_COLUMN, offset=2)
    line = pl.col(LINE_COLUMN)
    return data.with_columns(
        pl.format("{}{}", pl.col("customer_id"), line.cast(pl.String)).alias("customer_id"),
        pl.when(line % 20 == 0).then(pl.lit("not-an-email")).otherwise(pl.col("email")).alias("email"),
        pl.when(line % 100 == 1)
        .then(pl.lit("2023-02-29"))
        .otherwise(pl.col("subscription_date"))
        .alias("subscription_date"),
        pl.when(line % 100 == 2).then(pl.lit("12x")).otherwise(pl.col("index")).alias("index"),
    ).with_columns(line.cast(pl.Int64))


def best_of(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import django

    django.setup()
    rules = load_ruleset()
    text = batch_text(args.rows)
    config = TransformConfig(source_file="bench.csv", ingested_at=datetime.now(UTC))
    transform_s, clean = best_of(
        args.repeat, lambda: frame_transform(text, schema=rules.schema, config=config)
    )
    quality_s, result = best_of(args.repeat, lambda: batch_check(clean=clean, text=text, ruleset=rules))
    quarantined = len(result.quarantined)
    print(f"records              {args.rows:>12,}")
    print(f"quarantined          {quarantined:>12,}")
    print(f"rules                {len(rules.rules):>12}")
    print(f"transform (baseline) {transform_s:>11.3f}s  {args.rows / transform_s:>12,.0f} records/s")
    print(f"quality stage        {quality_s:>11.3f}s  {args.rows / quality_s:>12,.0f} records/s")
    print(f"ratio quality / transform {quality_s / transform_s:>6.2f}")


if __name__ == "__main__":
    main()
