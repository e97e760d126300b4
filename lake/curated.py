"""Writes of the curated tables: the customers base rebuilt from PostgreSQL (streamed), data quality."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyiceberg.expressions as expressions
from pyiceberg.expressions import AlwaysFalse, BooleanExpression
from pyiceberg.table import Table

from lake.tables import (
    CommitResult,
    conform,
    files_append,
    files_commit,
    schema_evolve,
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
    """``rebuild`` (the whole table)."""
    rows: int
    """Rows of the table after the write."""


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


@dataclass(frozen=True)
class RunQuality:
    run_id: int
    filename: str
    rows_read: int
    rows_quarantined: int
    failures: list[tuple[str, int]]
    """(rule code, failing records); empty for a clean run (stored as one "(none)" row)."""


def data_quality_runs(table: Table, *, run_ids: Iterable[int]) -> set[int]:
    """Which of ``run_ids`` the table holds rows of: a scan pruned by the files' run_id bounds
    (the files of other runs are not read)."""
    wanted = {int(r) for r in run_ids}
    if table.current_snapshot() is None or not wanted:
        return set()
    found = table.scan(row_filter=ex.In("run_id", wanted), selected_fields=("run_id",)).to_arrow()
    return {int(v) for v in found.column("run_id").to_pylist()}


def data_quality_append(
    table: Table,
    *,
    runs: Sequence[RunQuality],
    properties: dict[str, str],
    present: set[int] | None = None,
) -> int:
    """Append each run's rule → failures rows, once per run (a repair never doubles them); one
    fast-append snapshot (no manifest of earlier runs read or rewritten). ``present``: the runs
    of ``runs`` the table holds already, when the caller has looked them up."""
    if present is None:
        present = data_quality_runs(table, run_ids=[r.run_id for r in runs])
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
    files_append(table, chunks=[frame], properties=properties)
    return len({r.run_id for r, _, _ in rows})
