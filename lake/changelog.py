"""The change log of curated customers: a run appends what it changed; readers merge it over the base.

pyiceberg 0.12 writes copy-on-write only (no delete files), so an upsert of
random keys rewrites about every file of the table: a run's cost followed the
table, not the change (issue #16). Instead, three physical tables:

- ``customers_base``: the customers as of the last rebuild or compaction,
  partitioned by month; each row carries ``_change_seq``, the sequence number
  of the change that produced it (a rebuild stamps all rows with its watermark);
- ``customers_changes``: append-only, one snapshot per run (``run-id``): the
  rows the run inserted, updated or deleted (``_change_op`` ``i``/``u``/``d``),
  their ``_change_seq`` and ``_change_run``;
- ``customers_by_country_day``: per run, the change of the customer count of
  each (country, subscription date) the run touched (+1 new, -1 old version).

Read rule (exact at every snapshot, whatever was compacted): a customer is the
row with the highest ``_change_seq`` among base and changes, unless that row is
a delete. ``customers_by_country`` and ``customers_by_month`` are sums over
``customers_by_country_day``. ``lake maintenance`` merges the changes into the
base (:func:`customers_compact`) and sums the counts (:func:`counts_compact`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.types import DateType, LongType, NestedField, StringType

from lake.curated import month_ordinal, months_filter
from lake.tables import RUN_ID, conform, customer_columns, files_commit, table_replace

BASE = "customers_base"
CHANGES = "customers_changes"
COUNTS = "customers_by_country_day"
KEY = "customer_id"
CHANGE_SEQ = "_change_seq"
CHANGE_OP = "_change_op"
CHANGE_RUN = "_change_run"
OP_INSERT, OP_UPDATE, OP_DELETE = "i", "u", "d"
REBUILT_SEQ = "rebuilt-seq"
"""Base snapshot property: the watermark of the last rebuild (changes up to it are in the base)."""


def base_schema() -> Schema:
    columns = [*customer_columns(), (CHANGE_SEQ, LongType())]
    return Schema(*(NestedField(i, n, t, required=(n == KEY)) for i, (n, t) in enumerate(columns, start=1)))


def changes_schema() -> Schema:
    columns = [
        *customer_columns(),
        (CHANGE_SEQ, LongType()),
        (CHANGE_OP, StringType()),
        (CHANGE_RUN, LongType()),
    ]
    return Schema(*(NestedField(i, n, t, required=(n == KEY)) for i, (n, t) in enumerate(columns, start=1)))


def counts_schema() -> Schema:
    columns = [("country", StringType()), ("subscription_date", DateType()), ("customers", LongType())]
    columns.append((CHANGE_RUN, LongType()))
    return Schema(*(NestedField(i, n, t, required=False) for i, (n, t) in enumerate(columns, start=1)))


def run_published(table: Table, *, run_id: int) -> bool:
    """Whether a snapshot of ``table`` already carries ``run_id`` (a retried lake step skips it)."""
    wanted = str(run_id)
    return any(
        s.summary is not None and s.summary.additional_properties.get(RUN_ID) == wanted
        for s in table.snapshots()
    )


def rebuilt_seq(base: Table) -> int:
    snapshot = base.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return 0
    return int(snapshot.summary.additional_properties.get(REBUILT_SEQ, 0))


def latest_changes(changes: pa.Table) -> pa.Table:
    """One row per customer: its change with the highest sequence number."""
    if changes.num_rows == 0:
        return changes
    frame = pl.from_arrow(changes)
    assert isinstance(frame, pl.DataFrame)
    return frame.sort(CHANGE_SEQ).unique(KEY, keep="last", maintain_order=True).to_arrow()


def customers_view_sql(*, base: str, changes: str, columns: list[str]) -> str:
    """DuckDB SQL of the read rule over two relations (the Iceberg scans of base and changes)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    return (
        f"WITH latest AS (SELECT * FROM {changes} QUALIFY row_number() OVER "
        f"(PARTITION BY {KEY} ORDER BY {CHANGE_SEQ} DESC) = 1) "
        f"SELECT {cols} FROM {base} b WHERE NOT EXISTS (SELECT 1 FROM latest l "
        f"WHERE l.{KEY} = b.{KEY} AND l.{CHANGE_SEQ} >= b.{CHANGE_SEQ}) "
        f"UNION ALL SELECT {cols} FROM latest l WHERE l.{CHANGE_OP} <> '{OP_DELETE}' AND NOT EXISTS "
        f"(SELECT 1 FROM {base} b WHERE b.{KEY} = l.{KEY} AND b.{CHANGE_SEQ} > l.{CHANGE_SEQ})"
    )


def customers_read(*, base: pa.Table, changes: pa.Table) -> pa.Table:
    """The read rule over Arrow tables (scans of base and changes): the current customers."""
    import duckdb

    columns = [c for c in base.column_names if c != CHANGE_SEQ]
    with duckdb.connect() as con:
        con.register("base", base)
        con.register("changes", changes)
        return con.sql(customers_view_sql(base="base", changes="changes", columns=columns)).to_arrow_table()


def _cells_sql(counts: str) -> str:
    return (
        f"SELECT country, subscription_date, sum(customers) AS n FROM {counts} "
        "GROUP BY country, subscription_date HAVING sum(customers) <> 0"
    )


def by_country_sql(*, counts: str) -> str:
    return (
        f"SELECT country, CAST(sum(n) AS BIGINT) AS customers, min(subscription_date) AS first_subscription, "
        f"max(subscription_date) AS last_subscription FROM ({_cells_sql(counts)}) GROUP BY country "
        "ORDER BY customers DESC, country"
    )


def by_month_sql(*, counts: str) -> str:
    return (
        "SELECT subscription_month, new_customers, CAST(sum(new_customers) OVER "
        "(ORDER BY subscription_month) AS BIGINT) AS total_customers FROM ("
        "SELECT CAST(date_trunc('month', subscription_date) AS DATE) AS subscription_month, "
        f"CAST(sum(n) AS BIGINT) AS new_customers FROM ({_cells_sql(counts)}) GROUP BY 1) ORDER BY 1"
    )


@dataclass(frozen=True)
class Compacted:
    changes_merged: int
    """Change rows merged into the base (and removed from ``customers_changes``)."""
    partitions_rewritten: int


def _superseded(base: Table, latest: pa.Table) -> tuple[dict[str, int], set[int]]:
    """Base rows of the changed keys, streamed: key -> newest base seq, and the months holding them."""
    keys = latest[KEY]
    seqs: dict[str, int] = {}
    months: set[int] = set()
    reader = base.scan(selected_fields=(KEY, "subscription_date", CHANGE_SEQ)).to_arrow_batch_reader()
    for batch in reader:
        hit = batch.filter(pc.is_in(batch.column(KEY), value_set=keys))
        for key, day, seq in zip(*(hit.column(i).to_pylist() for i in range(3)), strict=True):
            seqs[key] = max(seqs.get(key, -1), seq or 0)
            if day is not None:
                months.add(month_ordinal(day))
    return seqs, months


def _partition_rows(base: Table, month: int, *, latest: pa.Table, winners: pa.Table) -> pa.Table:
    """One month of the base after the merge: rows not superseded, plus the winning changes of the month."""
    rows = base.scan(row_filter=months_filter({month})).to_arrow()
    stale = latest.filter(pc.is_in(latest[KEY], value_set=rows[KEY]))
    if stale.num_rows:  # keep a base row unless a change of its key is as new or newer
        newest = dict(zip(stale[KEY].to_pylist(), stale[CHANGE_SEQ].to_pylist(), strict=True))
        keep = [
            newest.get(k, -1) < (s or 0)
            for k, s in zip(rows[KEY].to_pylist(), rows[CHANGE_SEQ].to_pylist(), strict=True)
        ]
        rows = rows.filter(pa.array(keep))
    added = winners.filter(pc.equal(winners["__month"], month)).drop(["__month"])
    return pa.concat_tables([rows, conform(added, base)])


def customers_compact(base: Table, changes: Table, *, properties: dict[str, str]) -> Compacted:
    """Merge the change log into the base: only the month partitions a change touches are rewritten,
    one at a time (memory: a partition); then the merged change files are removed. Two snapshots."""
    if changes.current_snapshot() is None:
        return Compacted(0, 0)
    change_files: list[DataFile] = [t.file for t in changes.scan().plan_files()]
    if not change_files:
        return Compacted(0, 0)
    log = changes.scan().to_arrow()
    latest = latest_changes(log)
    seqs, months = _superseded(base, latest) if base.current_snapshot() is not None else ({}, set())
    win = [
        seqs.get(k, -1) < s
        for k, s in zip(latest[KEY].to_pylist(), latest[CHANGE_SEQ].to_pylist(), strict=True)
    ]
    winners = latest.filter(pc.and_(pa.array(win), pc.not_equal(latest[CHANGE_OP], OP_DELETE)))
    winner_months = [month_ordinal(d) for d in winners["subscription_date"].to_pylist()]
    winners = winners.append_column("__month", pa.array(winner_months, pa.int64()))
    months |= set(winner_months)
    tasks = (
        [t.file for t in base.scan().plan_files() if t.file.partition[0] in months]
        if base.current_snapshot()
        else []
    )

    def merged() -> Iterator[pa.Table]:
        for month in sorted(months):
            yield _partition_rows(base, month, latest=latest, winners=winners)

    props = properties | {REBUILT_SEQ: str(rebuilt_seq(base))}
    files_commit(base, remove=tasks, add=merged(), properties=props)
    files_commit(changes, remove=change_files, add=None, properties=properties)
    return Compacted(changes_merged=log.num_rows, partitions_rewritten=len(months))


def counts_compact(counts: Table, *, properties: dict[str, str]) -> int:
    """The runs' count deltas summed into one row per (country, day), in one snapshot; how many
    delta rows were merged (0: nothing to do, no snapshot)."""
    if counts.current_snapshot() is None:
        return 0
    frame = pl.from_arrow(counts.scan().to_arrow())
    assert isinstance(frame, pl.DataFrame)
    deltas = frame.filter(pl.col(CHANGE_RUN).is_not_null()).height
    if not deltas:
        return 0
    cells = (
        frame.group_by("country", "subscription_date")
        .agg(pl.col("customers").sum())
        .filter(pl.col("customers") != 0)
        .sort("country", "subscription_date")
        .with_columns(pl.lit(None, dtype=pl.Int64).alias(CHANGE_RUN))
    )
    table_replace(counts, cells.to_arrow(), properties=properties)
    return deltas
