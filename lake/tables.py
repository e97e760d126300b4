"""Curated Iceberg tables: their schemas and the one-snapshot write every change goes through.

pyiceberg 0.12's public ``overwrite``/``upsert`` commit a delete snapshot and an
append snapshot; a run must add exactly one snapshot (carrying its run id), so
changes are written as data files and committed by one OVERWRITE producer
that removes the replaced files and adds the new ones (copy-on-write per
partition).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
from django.db import models
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.io.pyarrow import _dataframe_to_data_files, schema_to_pyarrow
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import MonthTransform
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

from customers.models import Customer
from lake.config import NAMESPACE
from lake.transaction import transaction_begin

CUSTOMERS = "customers"
BY_COUNTRY = "customers_by_country"
BY_MONTH = "customers_by_month"
DATA_QUALITY = "data_quality"
TABLES = (CUSTOMERS, BY_COUNTRY, BY_MONTH, DATA_QUALITY)

RUN_ID = "run-id"
"""Snapshot summary property: the IngestionRun id that produced the snapshot."""
OPERATION = "lake-operation"
"""Snapshot summary property: upsert | rebuild | sync | refresh | append | compact."""

PARTITION_MONTH = "subscription_month"
# Excluded from the lake: the PostgreSQL surrogate key means nothing outside it.
CUSTOMER_EXCLUDED = ("id",)

_DJANGO_TYPES: dict[str, IcebergType] = {
    "BigIntegerField": LongType(),
    "BigAutoField": LongType(),
    "PositiveBigIntegerField": LongType(),
    "IntegerField": IntegerType(),
    "SmallIntegerField": IntegerType(),
    "PositiveIntegerField": IntegerType(),
    "PositiveSmallIntegerField": IntegerType(),
    "BooleanField": BooleanType(),
    "FloatField": DoubleType(),
    "DateField": DateType(),
    "DateTimeField": TimestamptzType(),
}


def iceberg_type_of(field: models.Field) -> IcebergType:
    kind = field.get_internal_type()
    if kind == "DecimalField":
        return DecimalType(
            getattr(field, "max_digits", None) or 38, getattr(field, "decimal_places", None) or 0
        )
    return _DJANGO_TYPES.get(kind, StringType())


def customer_columns() -> list[tuple[str, IcebergType]]:
    """Columns of curated.customers: the customers table's, so a new model field is a new column
    (a generated one, derived from the others, is not: ``search_text``)."""
    return [
        (f.column, iceberg_type_of(f))
        for f in Customer._meta.concrete_fields
        if f.column not in CUSTOMER_EXCLUDED and not f.generated
    ]


def customers_schema() -> Schema:
    fields = [
        NestedField(i, name, kind, required=(name == "customer_id"))
        for i, (name, kind) in enumerate(customer_columns(), start=1)
    ]
    key_id = next(f.field_id for f in fields if f.name == "customer_id")
    return Schema(*fields, identifier_field_ids=[key_id])


def customers_spec(schema: Schema) -> PartitionSpec:
    # Month, not day: a day partition of a customer file is a handful of rows (tiny files).
    source = schema.find_field("subscription_date")
    return PartitionSpec(
        PartitionField(
            source_id=source.field_id, field_id=1000, transform=MonthTransform(), name=PARTITION_MONTH
        )
    )


def _fixed_schema(*columns: tuple[str, IcebergType]) -> Schema:
    return Schema(*(NestedField(i, n, t, required=False) for i, (n, t) in enumerate(columns, start=1)))


def table_schema(name: str) -> Schema:
    if name == CUSTOMERS:
        return customers_schema()
    if name == BY_COUNTRY:
        return _fixed_schema(
            ("country", StringType()),
            ("customers", LongType()),
            ("first_subscription", DateType()),
            ("last_subscription", DateType()),
        )
    if name == BY_MONTH:
        return _fixed_schema(
            ("subscription_month", DateType()),
            ("new_customers", LongType()),
            ("total_customers", LongType()),
        )
    if name == DATA_QUALITY:
        return _fixed_schema(
            ("run_id", LongType()),
            ("filename", StringType()),
            ("rule", StringType()),
            ("failures", LongType()),
            ("rows_read", LongType()),
            ("rows_quarantined", LongType()),
            ("recorded_at", TimestamptzType()),
        )
    raise KeyError(name)


def identifier(name: str) -> str:
    return f"{NAMESPACE}.{name}"


def table_spec(name: str) -> tuple[Schema, PartitionSpec]:
    schema = table_schema(name)
    return schema, customers_spec(schema) if name == CUSTOMERS else UNPARTITIONED_PARTITION_SPEC


def tables_open(
    catalog: Catalog, wanted: dict[str, tuple[Schema, PartitionSpec]], *, drop: Iterable[str] = ()
) -> dict[str, Table]:
    """The ``wanted`` tables of the namespace, loaded, or created when missing; ``drop`` ones dropped.

    One listing of the namespace: pyiceberg's ``create_table_if_not_exists`` writes a new
    metadata file before it finds the table exists, an orphan file per table and call.
    """
    present = {ident[-1] for ident in catalog.list_tables(NAMESPACE)}
    for name in drop:
        if name in present:
            catalog.drop_table(identifier(name))
    tables = {}
    for name, (schema, spec) in wanted.items():
        if name in present:
            tables[name] = catalog.load_table(identifier(name))
        else:  # created by another process meanwhile: loaded all the same
            tables[name] = catalog.create_table_if_not_exists(
                identifier(name), schema=schema, partition_spec=spec
            )
    return tables


def table_load(catalog: Catalog, name: str) -> Table | None:
    try:
        return catalog.load_table(identifier(name))
    except NoSuchTableError:
        return None


def arrow_schema(table: Table) -> pa.Schema:
    return schema_to_pyarrow(table.schema(), include_field_ids=False)


def schema_evolve(table: Table, frame_schema: pa.Schema) -> Table:
    """Add the frame's new columns to the table: a metadata change, no data file is rewritten."""
    known = set(table.schema().column_names)
    new = [f.with_nullable(True) for f in frame_schema if f.name not in known]
    if not new:
        return table
    with table.update_schema() as update:
        update.union_by_name(pa.schema(new))
    return table.refresh()


def conform(frame: pa.Table, table: Table) -> pa.Table:
    """The frame with the table's columns, order and types (missing columns as nulls)."""
    target = arrow_schema(table)
    columns = [
        frame.column(f.name).cast(f.type) if f.name in frame.column_names else pa.nulls(len(frame), f.type)
        for f in target
    ]
    return pa.Table.from_arrays(columns, schema=target)


@dataclass(frozen=True)
class CommitResult:
    snapshot_id: int
    files_removed: int
    files_added: int


def files_commit(
    table: Table,
    *,
    remove: Iterable[DataFile],
    add: pa.Table | Iterable[pa.Table] | None,
    properties: dict[str, str],
) -> CommitResult:
    """Replace ``remove`` by the data of ``add`` in ONE snapshot whose summary carries ``properties``.

    ``add`` may be a stream of tables (bounded memory: each is written as it
    comes). Atomic: the catalog commit either publishes the new snapshot or
    nothing (files written by a failed commit are referenced by no snapshot).
    """
    removed = list(remove)
    chunks: Iterable[pa.Table] = [] if add is None else [add] if isinstance(add, pa.Table) else add
    counter = itertools.count(0)  # unique file names across the chunks
    added = 0
    with (
        transaction_begin(table) as tx,
        tx.update_snapshot(snapshot_properties=properties).overwrite() as producer,
    ):
        for data_file in removed:
            producer.delete_data_file(data_file)
        for chunk in chunks:
            if not chunk.num_rows:
                continue
            for data_file in _dataframe_to_data_files(
                table_metadata=tx.table_metadata,
                df=chunk,
                io=table.io,
                write_uuid=producer.commit_uuid,
                counter=counter,
            ):
                producer.append_data_file(data_file)
                added += 1
    snapshot = table.current_snapshot()  # the commit updated the table's metadata: no refresh
    assert snapshot is not None
    return CommitResult(snapshot_id=snapshot.snapshot_id, files_removed=len(removed), files_added=added)


def files_append(table: Table, *, chunks: Iterable[pa.Table], properties: dict[str, str]) -> CommitResult:
    """Append ``chunks`` (each written as it comes: bounded memory) in ONE snapshot, even an empty one.

    A fast append: the new manifest is added to the manifest list, no existing
    manifest is read or rewritten, so the cost follows the rows appended.
    """
    added = 0
    counter = iter(range(1 << 62))  # unique file names across the chunks
    with (
        transaction_begin(table) as tx,
        tx.update_snapshot(snapshot_properties=properties).fast_append() as app,
    ):
        for chunk in chunks:
            if not chunk.num_rows:
                continue
            for data_file in _dataframe_to_data_files(
                table_metadata=tx.table_metadata,
                df=conform(chunk, table),
                io=table.io,
                write_uuid=app.commit_uuid,
                counter=counter,  # type: ignore[arg-type]
            ):
                app.append_data_file(data_file)
                added += 1
    snapshot = table.current_snapshot()  # the commit updated the table's metadata: no refresh
    assert snapshot is not None
    return CommitResult(snapshot_id=snapshot.snapshot_id, files_removed=0, files_added=added)


def table_replace(table: Table, frame: pa.Table, *, properties: dict[str, str]) -> CommitResult:
    """The table's whole content becomes ``frame``, in one snapshot."""
    table = schema_evolve(table, frame.schema)
    current = [task.file for task in table.scan().plan_files()] if table.current_snapshot() else []
    return files_commit(table, remove=current, add=conform(frame, table), properties=properties)
