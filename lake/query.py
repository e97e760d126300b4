"""SQL over the curated tables: DuckDB on Arrow from pyiceberg scans, with time travel.

Why not DuckDB's iceberg extension: its PyPI build (duckdb-extension-iceberg)
loads only into the DuckDB version it was built for (1.5.5 when measured),
while we pin DuckDB 2.0; reading through pyiceberg works with any DuckDB,
uses the same catalog as the writers, and gets partition pruning from the
row filter pushed into each scan (see :mod:`lake.pushdown`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.expressions.visitors import bind
from pyiceberg.table import Table

from common.errors import error_text
from dataflow.csv_safe import csv_row
from lake.catalog import lake_catalog
from lake.config import NAMESPACE, LakeConfig, lake_config
from lake.errors import (
    ERR_BAD_AS_OF,
    ERR_NO_SNAPSHOT,
    ERR_NO_SUCH_TABLE,
    ERR_NO_TABLES_IN_QUERY,
    ERR_QUERY,
    ERR_UNKNOWN_SNAPSHOT,
    LakeError,
)
from lake.pushdown import filter_text, parse_tree, referenced_tables, row_filters
from lake.tables import TABLES, arrow_schema, table_load

FORMATS = ("table", "csv", "json")


@dataclass(frozen=True)
class TableScanInfo:
    table: str
    snapshot_id: int | None
    row_filter: str
    files_scanned: int
    files_total: int


@dataclass
class QueryResult:
    arrow: pa.Table
    scans: dict[str, TableScanInfo] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return list(self.arrow.column_names)

    @property
    def rows(self) -> list[dict[str, Any]]:
        return list(self.arrow.to_pylist())


@dataclass(frozen=True)
class AsOf:
    timestamp_ms: int
    snapshot_id: int | None = None
    """Exact snapshot of the table that owns it; the other tables are read as of its time."""
    label: str = ""


def _table(catalog: Catalog, name: str) -> Table:
    table = table_load(catalog, name)
    if table is None:
        raise LakeError(ERR_NO_SUCH_TABLE.format(name=f"{NAMESPACE}.{name}", tables=", ".join(TABLES)))
    return table


def as_of_resolve(value: str, *, catalog: Catalog) -> AsOf:
    """``value`` is a snapshot id (of any curated table) or an ISO timestamp (naive = UTC)."""
    text = value.strip()
    if text.isdigit():
        snapshot_id = int(text)
        for name in TABLES:
            table = table_load(catalog, name)
            snapshot = table.snapshot_by_id(snapshot_id) if table is not None else None
            if snapshot is not None:
                return AsOf(timestamp_ms=snapshot.timestamp_ms, snapshot_id=snapshot_id, label=text)
        raise LakeError(ERR_UNKNOWN_SNAPSHOT.format(snapshot_id=snapshot_id))
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise LakeError(ERR_BAD_AS_OF.format(value=value)) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return AsOf(timestamp_ms=int(when.timestamp() * 1000), label=when.isoformat())


def _snapshot_for(table: Table, name: str, as_of: AsOf | None) -> int | None:
    if as_of is None:
        current = table.current_snapshot()
        return current.snapshot_id if current else None
    if as_of.snapshot_id is not None and table.snapshot_by_id(as_of.snapshot_id) is not None:
        return as_of.snapshot_id
    snapshot = table.snapshot_as_of_timestamp(as_of.timestamp_ms)
    if snapshot is None:
        raise LakeError(ERR_NO_SNAPSHOT.format(table=f"{NAMESPACE}.{name}", when=as_of.label))
    return snapshot.snapshot_id


def _scan(
    table: Table, name: str, row_filter: BooleanExpression, snapshot_id: int | None
) -> tuple[pa.Table, TableScanInfo]:
    if snapshot_id is None:
        empty = arrow_schema(table).empty_table()
        return empty, TableScanInfo(name, None, "none", 0, 0)
    scan = table.scan(snapshot_id=snapshot_id, case_sensitive=False)
    try:
        bind(scan.projection(), row_filter, case_sensitive=False)
    except Exception:  # a predicate the table's types cannot take: DuckDB filters instead
        row_filter = AlwaysTrue()
    scan = scan.filter(row_filter)
    tasks = list(scan.plan_files())
    snapshot = table.snapshot_by_id(snapshot_id)
    total = (
        int(snapshot.summary.additional_properties.get("total-data-files", 0))
        if snapshot and snapshot.summary
        else 0
    )
    arrow = scan.to_arrow()
    return arrow, TableScanInfo(name, snapshot_id, filter_text(row_filter), len(tasks), total)


def lake_query(*, sql: str, as_of: str | None = None, config: LakeConfig | None = None) -> QueryResult:
    """Run one SELECT over ``curated.*`` tables, optionally as of a snapshot id or a timestamp."""
    tree = parse_tree(sql)
    if tree.get("error"):
        raise LakeError(ERR_QUERY.format(error=tree.get("error_message", "cannot parse")))
    names = referenced_tables(tree)
    if not names:
        raise LakeError(ERR_NO_TABLES_IN_QUERY.format(tables=", ".join(TABLES)))
    catalog = lake_catalog(config or lake_config())
    tables = {name: _table(catalog, name) for name in sorted(names)}
    point = as_of_resolve(as_of, catalog=catalog) if as_of else None
    snapshots = {name: _snapshot_for(table, name, point) for name, table in tables.items()}
    columns = {
        name: {c.lower() for c in (table.scan(snapshot_id=snapshots[name]).projection().column_names)}
        for name, table in tables.items()
    }
    filters = row_filters(tree, columns)
    result = QueryResult(arrow=pa.table({}))
    with duckdb.connect() as con:
        con.execute(f"CREATE SCHEMA {NAMESPACE}")
        for name, table in tables.items():
            arrow, info = _scan(table, name, filters.get(name, AlwaysTrue()), snapshots[name])
            result.scans[name] = info
            con.register(f"__lake_{name}", arrow)
            con.execute(f'CREATE VIEW {NAMESPACE}."{name}" AS SELECT * FROM "__lake_{name}"')
        try:
            result.arrow = con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise LakeError(ERR_QUERY.format(error=error_text(exc))) from exc
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def rows_render(columns: list[str], rows: list[dict[str, Any]], *, fmt: str = "table") -> str:
    """Rows as an aligned text table, CSV (header + rows) or a JSON array of row objects."""
    if fmt == "json":
        return json.dumps([{k: _plain(r[k]) for k in columns} for r in rows], default=str, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(csv_row(list(columns)))
        writer.writerows([csv_row(["" if r[k] is None else _plain(r[k]) for k in columns]) for r in rows])
        return out.getvalue().rstrip("\n")
    cells = [[("NULL" if r[k] is None else str(_plain(r[k]))) for k in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    out_lines = [
        " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
        "-+-".join("-" * w for w in widths),
        *(" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells),
        f"({len(rows)} row{'s' if len(rows) != 1 else ''})",
    ]
    return "\n".join(line.rstrip() for line in out_lines)


def result_render(result: QueryResult, *, fmt: str = "table") -> str:
    return rows_render(result.columns, result.rows, fmt=fmt)
