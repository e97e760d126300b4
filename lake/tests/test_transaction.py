"""The transaction every lake write goes through: table metadata computed once per state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyiceberg.table
import pytest
from pyiceberg.table import Table

from lake import transaction as lake_transaction
from lake.catalog import lake_catalog
from lake.changelog import CHANGE_OP, CHANGE_RUN, CHANGE_SEQ, CHANGES, OP_INSERT, changes_schema
from lake.config import LakeConfig
from lake.tables import RUN_ID, conform, files_append, identifier
from lake.tests import support as lake_support
from lake.tests.support import customer
from lake.transaction import transaction_begin

lake = lake_support.lake
pytestmark = pytest.mark.django_db


def _table(config: LakeConfig) -> Table:
    return lake_catalog(config).create_table(identifier(CHANGES), schema=changes_schema())


def _row(table: Table) -> pa.Table:
    change = {CHANGE_SEQ: 1, CHANGE_OP: OP_INSERT, CHANGE_RUN: 3}
    row = customer("A1") | {"source_file": "f.csv", "ingested_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
    return conform(pa.Table.from_pylist([row | change]), table)


@pytest.fixture
def metadata_computations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every replay of staged updates (pyiceberg's own transaction's and ours)."""
    calls: list[int] = []
    original: Callable[..., Any] = lake_transaction.update_table_metadata

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(lake_transaction, "update_table_metadata", counted)
    monkeypatch.setattr(pyiceberg.table, "update_table_metadata", counted)
    return calls


def test_reads_of_one_state_compute_its_metadata_once(lake, metadata_computations: list[int]) -> None:
    tx = transaction_begin(_table(lake))

    reads = [tx.table_metadata for _ in range(5)]

    assert len(metadata_computations) == 1
    assert all(read is reads[0] for read in reads)


def test_a_staged_update_is_in_the_next_read(lake, metadata_computations: list[int]) -> None:
    tx = transaction_begin(_table(lake))
    assert "owner" not in tx.table_metadata.properties

    tx.set_properties(owner="lake")

    assert tx.table_metadata.properties["owner"] == "lake"
    assert len(metadata_computations) == 2


def test_an_append_computes_the_metadata_a_few_times_not_once_per_read(
    lake, metadata_computations: list[int]
) -> None:
    table = _table(lake)
    for run in range(3):
        files_append(table, chunks=[], properties={RUN_ID: str(run)})
    metadata_computations.clear()

    files_append(table, chunks=[_row(table)], properties={RUN_ID: "3"})

    # pyiceberg 0.12's own transaction replays the updates on each of its ~15 reads of a commit.
    assert 1 <= len(metadata_computations) <= 3
    assert len(table.snapshots()) == 4
    assert table.scan().to_arrow()["customer_id"].to_pylist() == ["A1"]
