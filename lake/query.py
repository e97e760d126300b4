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

from common.errors import error_text
from dataflow.csv_safe import csv_row
from lake.catalog import lake_catalog
from lake.config import NAMESPACE, LakeConfig, lake_config
from lake.errors import ERR_NO_TABLES_IN_QUERY, ERR_QUERY, LakeError
from lake.pushdown import parse_tree, referenced_tables, row_filters
from lake.views import TABLES, TableScanInfo, as_of_resolve, pushable_columns, table_name, views_register

FORMATS = ("table", "csv", "json")


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


def lake_query(*, sql: str, as_of: str | None = None, config: LakeConfig | None = None) -> QueryResult:
    """Run one SELECT over ``curated.*`` tables, optionally as of a snapshot id or a timestamp.

    ``curated.customers`` and the datasets are views over the change log (:mod:`lake.views`).
    """
    tree = parse_tree(sql)
    if tree.get("error"):
        raise LakeError(ERR_QUERY.format(error=tree.get("error_message", "cannot parse")))
    names = {table_name(f"{NAMESPACE}.{name}") for name in referenced_tables(tree)}
    if not names:
        raise LakeError(ERR_NO_TABLES_IN_QUERY.format(tables=", ".join(TABLES)))
    catalog = lake_catalog(config or lake_config())
    point = as_of_resolve(as_of, catalog=catalog) if as_of else None
    filters = row_filters(tree, pushable_columns(catalog, names))
    result = QueryResult(arrow=pa.table({}))
    with duckdb.connect() as con:
        con.execute(f"CREATE SCHEMA {NAMESPACE}")
        result.scans = views_register(con, catalog=catalog, names=names, as_of=point, filters=filters)
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
