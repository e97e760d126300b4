"""The curated tables people query, over the physical tables of the change log.

``curated.customers`` is the read rule of :mod:`lake.changelog` over
``customers_base`` and ``customers_changes``; ``customers_by_country`` and
``customers_by_month`` are sums over ``customers_by_country_day``. The
physical tables can be queried by their own names too (the change log is a
feed of what each run changed). Another engine reading the catalog gets the
same results with the SQL of :func:`view_sql`.

Time travel is exact per run: a snapshot id stands for the end of the lake
step that wrote it (the last snapshot of any table carrying the same run id),
and every table is read as of that moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.expressions.visitors import bind
from pyiceberg.table import Table

from lake.changelog import (
    BASE,
    CHANGE_SEQ,
    CHANGES,
    COUNTS,
    by_country_sql,
    by_month_sql,
    customers_view_sql,
)
from lake.config import NAMESPACE
from lake.errors import ERR_NO_SNAPSHOT, ERR_NO_SUCH_TABLE, ERR_UNKNOWN_SNAPSHOT, LakeError
from lake.pushdown import filter_text
from lake.tables import DATA_QUALITY, OPERATION, RUN_ID, arrow_schema, table_load

CUSTOMERS, BY_COUNTRY, BY_MONTH = "customers", "customers_by_country", "customers_by_month"
SOURCES: dict[str, tuple[str, ...]] = {
    CUSTOMERS: (BASE, CHANGES),
    BY_COUNTRY: (COUNTS,),
    BY_MONTH: (COUNTS,),
    DATA_QUALITY: (DATA_QUALITY,),
    CHANGES: (CHANGES,),
    COUNTS: (COUNTS,),
    BASE: (BASE,),
}
"""Each queryable name and the physical tables it reads; the first must have a snapshot."""
TABLES = tuple(SOURCES)
PHYSICAL = (BASE, CHANGES, COUNTS, DATA_QUALITY)


def table_name(value: str) -> str:
    name = value.lower().removeprefix(f"{NAMESPACE}.")
    if name not in SOURCES:
        raise LakeError(ERR_NO_SUCH_TABLE.format(name=value, tables=", ".join(TABLES)))
    return name


def view_sql(name: str, *, relation: dict[str, str], columns: list[str]) -> str:
    """The SELECT of ``name`` over the physical tables, each read from ``relation[table]``;
    ``columns``: those of curated.customers (the base's, change columns left out)."""
    if name == CUSTOMERS:
        return customers_view_sql(base=relation[BASE], changes=relation[CHANGES], columns=columns)
    if name == BY_COUNTRY:
        return by_country_sql(counts=relation[COUNTS])
    if name == BY_MONTH:
        return by_month_sql(counts=relation[COUNTS])
    return f"SELECT * FROM {relation[name]}"


@dataclass(frozen=True)
class AsOf:
    timestamp_ms: int
    label: str = ""


def _props(snapshot: Any) -> dict[str, str]:
    return dict(snapshot.summary.additional_properties) if snapshot.summary is not None else {}


def _physical(catalog: Catalog) -> dict[str, Table]:
    return {name: table for name in PHYSICAL if (table := table_load(catalog, name)) is not None}


def as_of_resolve(value: str, *, catalog: Catalog) -> AsOf:
    """A snapshot id of any curated table (the end of its run's lake step) or an ISO timestamp."""
    from lake.errors import ERR_BAD_AS_OF

    text = value.strip()
    if text.isdigit():
        tables = _physical(catalog)
        snapshot = next((s for t in tables.values() if (s := t.snapshot_by_id(int(text))) is not None), None)
        if snapshot is None:
            raise LakeError(ERR_UNKNOWN_SNAPSHOT.format(snapshot_id=int(text)))
        run = _props(snapshot).get(RUN_ID)
        same_run = [
            s.timestamp_ms
            for t in tables.values()
            for s in t.snapshots()
            if run is not None and _props(s).get(RUN_ID) == run
        ]
        return AsOf(timestamp_ms=max([snapshot.timestamp_ms, *same_run]), label=text)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise LakeError(ERR_BAD_AS_OF.format(value=value)) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return AsOf(timestamp_ms=int(when.timestamp() * 1000), label=when.isoformat())


def snapshot_for(table: Table, *, as_of: AsOf | None) -> int | None:
    if as_of is None:
        current = table.current_snapshot()
        return current.snapshot_id if current else None
    snapshot = table.snapshot_as_of_timestamp(as_of.timestamp_ms)
    return snapshot.snapshot_id if snapshot else None


@dataclass(frozen=True)
class TableScanInfo:
    table: str
    snapshot_id: int | None
    row_filter: str
    files_scanned: int
    files_total: int


def scan(
    table: Table, name: str, row_filter: BooleanExpression, snapshot_id: int | None
) -> tuple[pa.Table, TableScanInfo]:
    """The table at ``snapshot_id`` (empty when None) with ``row_filter`` pushed into the scan."""
    if snapshot_id is None:
        return arrow_schema(table).empty_table(), TableScanInfo(name, None, "none", 0, 0)
    scanner = table.scan(snapshot_id=snapshot_id, case_sensitive=False)
    try:
        bind(scanner.projection(), row_filter, case_sensitive=False)
    except Exception:  # a predicate the table's types cannot take: DuckDB filters instead
        row_filter = AlwaysTrue()
    scanner = scanner.filter(row_filter)
    tasks = list(scanner.plan_files())
    snapshot = table.snapshot_by_id(snapshot_id)
    total = int(_props(snapshot).get("total-data-files", 0)) if snapshot else 0
    return scanner.to_arrow(), TableScanInfo(name, snapshot_id, filter_text(row_filter), len(tasks), total)


def snapshots_check(names: set[str], snapshots: dict[str, int | None], *, as_of: AsOf | None) -> None:
    """A queried table whose main physical table has no snapshot at ``as_of``: a clear error."""
    for name in sorted(names):
        primary = SOURCES[name][0]
        if as_of is not None and snapshots.get(primary) is None:
            raise LakeError(ERR_NO_SNAPSHOT.format(table=f"{NAMESPACE}.{name}", when=as_of.label))


def customers_columns(base: Table) -> list[str]:
    return [f.name for f in arrow_schema(base) if f.name != CHANGE_SEQ]


def snapshots_list(catalog: Catalog, *, name: str) -> list[dict[str, Any]]:
    """Snapshots of the physical tables behind ``name``, oldest first, with the table of each."""
    rows: list[tuple[tuple[int, int], dict[str, Any]]] = []
    for physical in SOURCES[name]:
        table = table_load(catalog, physical)
        if table is None:
            continue
        for snapshot in table.snapshots():
            props = _props(snapshot)
            order = (snapshot.timestamp_ms, snapshot.sequence_number or 0)
            rows.append(
                (
                    order,
                    {
                        "snapshot_id": snapshot.snapshot_id,
                        "table": physical,
                        "parent_id": snapshot.parent_snapshot_id,
                        "timestamp": dt.datetime.fromtimestamp(
                            snapshot.timestamp_ms / 1000, tz=dt.UTC
                        ).isoformat(),
                        "run_id": int(props[RUN_ID]) if RUN_ID in props else None,
                        "operation": props.get(OPERATION)
                        or (snapshot.summary.operation.value if snapshot.summary else ""),
                        "added_records": int(props.get("added-records", 0)),
                        "deleted_records": int(props.get("deleted-records", 0)),
                        "total_records": int(props.get("total-records", 0)),
                        "total_files": int(props.get("total-data-files", 0)),
                    },
                )
            )
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


def pushable_columns(catalog: Catalog, names: set[str]) -> dict[str, set[str]]:
    """Per queried name, the columns a WHERE conjunct may be pushed into its scan on (none for
    the sums: their columns are not the counts table's)."""
    columns: dict[str, set[str]] = {}
    for name in names:
        table = table_load(catalog, SOURCES[name][0])
        if table is None:
            raise LakeError(ERR_NO_SUCH_TABLE.format(name=f"{NAMESPACE}.{name}", tables=", ".join(TABLES)))
        if name in (BY_COUNTRY, BY_MONTH):
            columns[name] = set()
        else:
            columns[name] = {c.lower() for c in arrow_schema(table).names}
    return columns


def _pushed(physical: str, names: set[str], filters: dict[str, BooleanExpression]) -> BooleanExpression:
    """The filter of the scan of ``physical``: the change log of curated.customers is read whole
    (a change may move a customer out of the filter); a table read through two names, whole."""
    readers = [n for n in names if physical in SOURCES[n]]
    if len(readers) != 1 or (physical == CHANGES and readers[0] == CUSTOMERS):
        return AlwaysTrue()
    return filters.get(readers[0], AlwaysTrue())


def views_register(
    con: duckdb.DuckDBPyConnection,
    *,
    catalog: Catalog,
    names: set[str],
    as_of: AsOf | None,
    filters: dict[str, BooleanExpression],
) -> dict[str, TableScanInfo]:
    """Scan the physical tables behind ``names`` (as of ``as_of``) and create ``curated.<name>``
    views over them in ``con``. The scans, by queried name (curated.customers: its base's scan)."""
    physical = sorted({p for n in names for p in SOURCES[n]})
    tables = {p: t for p in physical if (t := table_load(catalog, p)) is not None}
    snapshots = {p: snapshot_for(t, as_of=as_of) for p, t in tables.items()}
    snapshots_check(names, snapshots, as_of=as_of)
    scans: dict[str, TableScanInfo] = {}
    for name, table in tables.items():
        arrow, info = scan(table, name, _pushed(name, names, filters), snapshots[name])
        scans[name] = info
        con.register(f"__lake_{name}", arrow)
    relation = {p: f'"__lake_{p}"' for p in tables}
    columns = customers_columns(tables[BASE]) if BASE in tables else []
    for name in sorted(names):
        con.execute(
            f'CREATE VIEW {NAMESPACE}."{name}" AS {view_sql(name, relation=relation, columns=columns)}'
        )
    if CUSTOMERS in names and BASE in scans:
        scans[CUSTOMERS] = scans[BASE]
    return scans
