"""A pyiceberg transaction that computes its table metadata once per state, not once per read.

pyiceberg 0.12's ``Transaction.table_metadata`` replays the staged updates
through ``update_table_metadata`` on every read, which ends in a deep copy of
the whole metadata, every snapshot of the table's history included. Its
snapshot producers read it 15 to 19 times per commit (a run's lake step under
cProfile; the append in lake/tests/test_transaction.py), so a run's small
append cost more the more snapshots the table kept since ``lake maintenance``
last expired them. Upstream knows it (apache/iceberg-python#2673, #3302, #3784;
0.12.0 is the newest release). This is the fix those pull requests propose:
the result cached, keyed on the identity of its two inputs. Staging an update
rebinds ``_updates`` (a tuple) and a commit, or its retry, replaces the table's
metadata, so either misses the cache; nothing has to clear it.
"""

from __future__ import annotations

from typing import Any

from pyiceberg.table import Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update import update_table_metadata


class MetadataCachedTransaction(Transaction):
    """``Table.transaction()``, with ``table_metadata`` computed once per (metadata, updates) pair."""

    _cached: tuple[Any, Any, TableMetadata] | None = None

    @property
    def table_metadata(self) -> TableMetadata:
        base, updates = self._table.metadata, self._updates
        cached = self._cached
        if cached is None or cached[0] is not base or cached[1] is not updates:
            cached = self._cached = (base, updates, update_table_metadata(base, updates))
        return cached[2]


def transaction_begin(table: Table) -> Transaction:
    """What ``table.transaction()`` returns, with the metadata cache."""
    return MetadataCachedTransaction(table)
