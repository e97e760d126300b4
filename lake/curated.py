"""Writes of the curated tables: customers (upsert or rebuild), the business datasets, data quality."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyiceberg.expressions as expressions
from pyiceberg.expressions import AlwaysFalse, BooleanExpression
from pyiceberg.table import Table

from lake.tables import (
    CommitResult,
    conform,
    files_commit,
    schema_evolve,
    table_replace,
)

_EPOCH_YEAR = 1970
# pyiceberg's predicates are pydantic models whose __init__ mypy cannot see.
ex: Any = expressions


def month_ordinal(day: dt.date) -> int:
    """Iceberg's month transform: months since 1970-01."""
    return (day.year - _EPOCH_YEAR) * 12 + day.month - 1


def _month_start(ordinal: int) -> dt.date:
    return dt.date(_EPOCH_YEAR + ordinal // 12, ordinal % 12 + 1, 1)


def months_filter(ordinals: set[int]) -> BooleanExpression:
    parts: list[BooleanExpression] = [
        ex.And(
            ex.GreaterThanOrEqual("subscription_date", _month_start(m).isoformat()),
            ex.LessThan("subscription_date", _month_start(m + 1).isoformat()),
        )
        for m in sorted(ordinals)
    ]
    if not parts:
        return AlwaysFalse()
    return parts[0] if len(parts) == 1 else ex.Or(*parts)


def _months_of(column: pa.ChunkedArray | pa.Array) -> set[int]:
    return {month_ordinal(d) for d in column.to_pylist() if d is not None}


@dataclass(frozen=True)
class CustomersWrite:
    commit: CommitResult
    mode: str
    """``upsert`` (the affected partitions rewritten) or ``rebuild`` (the whole table)."""
    rows: int
    """Rows of the table after the write."""


def total_records(table: Table) -> int:
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return 0
    return int(snapshot.summary.additional_properties.get("total-records", 0))


def customers_upsert(
    table: Table, *, rows: pa.Table, keys: Sequence[str], expected_total: int, properties: dict[str, str]
) -> CustomersWrite | None:
    """Replace the rows of ``keys`` by ``rows`` (keys absent from ``rows`` are removed), one snapshot.

    Only the month partitions holding an old or new version of a key are
    rewritten. Returns None when the result would not have ``expected_total``
    rows (the table had drifted from PostgreSQL): the caller rebuilds instead.
    """
    table = schema_evolve(table, rows.schema)
    if table.current_snapshot() is None:
        return None
    key_set = pa.array(sorted(set(keys)), type=pa.string())
    current = table.scan(selected_fields=("customer_id", "subscription_date")).to_arrow()
    matched = current.filter(pc.is_in(current.column("customer_id"), value_set=key_set))
    months = _months_of(matched.column("subscription_date")) | _months_of(rows.column("subscription_date"))
    tasks = [t for t in table.scan().plan_files() if t.file.partition[0] in months]
    kept = table.scan(row_filter=months_filter(months)).to_arrow() if tasks else None
    if kept is not None:
        kept = kept.filter(pc.invert(pc.is_in(kept.column("customer_id"), value_set=key_set)))
    new_rows = conform(rows, table)
    frame = pa.concat_tables([conform(kept, table), new_rows]) if kept is not None else new_rows
    removed_records = sum(t.file.record_count for t in tasks)
    if total_records(table) - removed_records + frame.num_rows != expected_total:
        return None
    commit = files_commit(
        table, remove=[t.file for t in tasks], add=frame.sort_by("customer_id"), properties=properties
    )
    return CustomersWrite(commit=commit, mode="upsert", rows=expected_total)


def customers_rebuild(
    table: Table, *, rows: pa.Table | Iterable[pa.Table], properties: dict[str, str]
) -> CustomersWrite:
    """The whole table from ``rows`` (one table, or tables streamed in date order), in one snapshot.

    Streamed in date order, each chunk spans few months: memory stays bounded
    by the chunk and a partition gets at most one extra file per chunk boundary.
    """
    chunks = iter([rows] if isinstance(rows, pa.Table) else rows)
    first = next(chunks, None)
    if first is not None:
        table = schema_evolve(table, first.schema)
    total = 0

    def conformed() -> Iterator[pa.Table]:
        nonlocal total
        for chunk in itertools.chain([] if first is None else [first], chunks):
            total += chunk.num_rows
            yield conform(chunk, table)

    current = [task.file for task in table.scan().plan_files()] if table.current_snapshot() else []
    commit = files_commit(table, remove=current, add=conformed(), properties=properties)
    return CustomersWrite(commit=commit, mode="rebuild", rows=total)


def _frame(table: Table, *columns: str) -> pl.DataFrame:
    frame = pl.from_arrow(table.scan(selected_fields=columns).to_arrow())
    assert isinstance(frame, pl.DataFrame)
    return frame


def customers_by_country(customers: Table) -> pa.Table:
    return (
        _frame(customers, "country", "subscription_date")
        .group_by("country")
        .agg(
            pl.len().cast(pl.Int64).alias("customers"),
            pl.col("subscription_date").min().alias("first_subscription"),
            pl.col("subscription_date").max().alias("last_subscription"),
        )
        .sort(["customers", "country"], descending=[True, False])
        .to_arrow()
    )


def customers_by_month(customers: Table) -> pa.Table:
    return (
        _frame(customers, "subscription_date")
        .drop_nulls()
        .group_by(pl.col("subscription_date").dt.truncate("1mo").alias("subscription_month"))
        .agg(pl.len().cast(pl.Int64).alias("new_customers"))
        .sort("subscription_month")
        .with_columns(pl.col("new_customers").cum_sum().alias("total_customers"))
        .to_arrow()
    )


def datasets_refresh(
    *, customers: Table, by_country: Table, by_month: Table, properties: dict[str, str]
) -> None:
    """Rebuild the business-ready datasets from the current curated.customers (one snapshot each)."""
    customers.refresh()
    table_replace(by_country, customers_by_country(customers), properties=properties)
    table_replace(by_month, customers_by_month(customers), properties=properties)


@dataclass(frozen=True)
class RunQuality:
    run_id: int
    filename: str
    rows_read: int
    rows_quarantined: int
    failures: list[tuple[str, int]]
    """(rule code, failing records); empty for a clean run (stored as one "(none)" row)."""


def data_quality_runs(table: Table) -> set[int]:
    if table.current_snapshot() is None:
        return set()
    return {int(v) for v in table.scan(selected_fields=("run_id",)).to_arrow().column("run_id").to_pylist()}


def data_quality_append(table: Table, *, runs: Sequence[RunQuality], properties: dict[str, str]) -> int:
    """Append each run's rule → failures rows, once per run (a repair never doubles them); one snapshot."""
    present = data_quality_runs(table)
    rows = [
        (run, rule, count)
        for run in runs
        if run.run_id not in present
        for rule, count in (run.failures or [("(none)", 0)])
    ]
    if not rows:
        return 0
    now = dt.datetime.now(tz=dt.UTC)
    frame = pa.table(
        {
            "run_id": pa.array([r.run_id for r, _, _ in rows], pa.int64()),
            "filename": [r.filename for r, _, _ in rows],
            "rule": [rule for _, rule, _ in rows],
            "failures": pa.array([count for _, _, count in rows], pa.int64()),
            "rows_read": pa.array([r.rows_read for r, _, _ in rows], pa.int64()),
            "rows_quarantined": pa.array([r.rows_quarantined for r, _, _ in rows], pa.int64()),
            "recorded_at": pa.array([now] * len(rows), pa.timestamp("us", tz="UTC")),
        }
    )
    files_commit(table, remove=[], add=conform(frame, table), properties=properties)
    return len({r.run_id for r, _, _ in rows})
