"""Benchmark of one small lake commit against the table's history: pyiceberg's transaction and ours.

    .venv/bin/python bench/lake_history.py --snapshots 10,100,300,600

A table in a throwaway SQL catalog (SQLite, in a temporary folder: the cost
measured is the Python side, which is the same on the project's PostgreSQL
catalog) grows to each number of snapshots in turn; at each, ``--repeat``
fast appends of ``--rows`` rows, alternating pyiceberg's own
``Table.transaction()`` (the baseline) and ``lake.transaction``'s (what every
lake write uses), each timed from the transaction's start to its commit.
Prints the medians and their ratio per history size. A run's lake step makes
three such commits; ``lake maintenance`` bounds the history (snapshot expiry).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.io.pyarrow import _dataframe_to_data_files
from pyiceberg.schema import Schema
from pyiceberg.table import Table, Transaction
from pyiceberg.types import LongType, NestedField, StringType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lake.transaction import transaction_begin  # noqa: E402


def _append(table: Table, rows: pa.Table, begin: Callable[[Table], Transaction]) -> float:
    started = time.perf_counter()
    with begin(table) as tx, tx.update_snapshot().fast_append() as app:
        for data_file in _dataframe_to_data_files(
            table_metadata=tx.table_metadata, df=rows, io=table.io, write_uuid=app.commit_uuid
        ):
            app.append_data_file(data_file)
    return time.perf_counter() - started


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", default="10,100,300,600", help="history sizes, ascending")
    parser.add_argument("--rows", type=int, default=1_000, help="rows per timed append")
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args()


def main() -> None:
    opts = _arguments()
    folder = tempfile.mkdtemp(prefix="bench-lake-history-")
    catalog = SqlCatalog("bench", uri=f"sqlite:///{folder}/catalog.db", warehouse=f"file://{folder}")
    catalog.create_namespace("bench")
    schema = Schema(
        NestedField(1, "id", LongType(), required=False),
        NestedField(2, "value", StringType(), required=False),
    )
    table = catalog.create_table("bench.history", schema=schema)
    rows = pa.table({"id": pa.array(range(opts.rows), pa.int64()), "value": pa.array(["x"] * opts.rows)})
    print(f"one fast append of {opts.rows:,} rows, median of {opts.repeat}, by snapshots in the table:")
    print("snapshots   pyiceberg's   lake.transaction   ratio")
    for target in (int(size) for size in opts.snapshots.split(",")):
        while len(table.snapshots()) < target:
            table.append(rows.slice(0, 1))
        at = len(table.snapshots())
        theirs, ours = [], []
        for _ in range(opts.repeat):
            theirs.append(_append(table, rows, Table.transaction))
            ours.append(_append(table, rows, transaction_begin))
        base, cached = statistics.median(theirs), statistics.median(ours)
        print(f"{at:9,}   {base * 1e3:8.1f} ms   {cached * 1e3:13.1f} ms   {base / cached:5.2f}")


if __name__ == "__main__":
    main()
