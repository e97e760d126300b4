"""Spark → PostgreSQL: every Spark partition streams its rows with ``COPY`` (no JDBC jar).

Spark executors are other processes (other machines on a cluster): they
cannot see the driver's session-private temp staging table. So they COPY into
a per-run UNLOGGED table; the driver then moves it into the usual staging
table inside its own session, and the shared load code
(:mod:`etl.load`: counts, upsert, quarantine, run status) takes over, in the
same single transaction as the Polars engine.

:func:`etl.engines.spark.copy.copy_partition` runs on the executors: it imports
only psycopg and pyarrow, never Django.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import connection
from psycopg import sql

from etl import load
from etl.schema import Schema

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SPARK_STAGE = "etl_spark_stage_run_{run_id}"
_CONNINFO_KEYS = ("host", "port", "dbname", "user", "password", "sslmode", "sslrootcert", "connect_timeout")


def executor_conninfo() -> str:
    """A libpq connection string executors can use to reach this run's database."""
    from psycopg.conninfo import make_conninfo

    params: dict[str, Any] = connection.get_connection_params()
    return make_conninfo(
        **{k: str(v) for k, v in params.items() if k in _CONNINFO_KEYS and v not in ("", None)}
    )


def spark_stage_create(*, run_id: int, schema: Schema) -> str:
    """The run's UNLOGGED staging table (committed at once so executors can write to it)."""
    table = SPARK_STAGE.format(run_id=run_id)
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(s.name), sql.SQL(load.SQL_TYPES[s.type]))
        for s in schema.fields
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        cursor.execute(
            sql.SQL("CREATE UNLOGGED TABLE {} (_line bigint, {})").format(sql.Identifier(table), columns)
        )
    return table


def spark_stage_drop(*, table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


def spark_stage_move(*, table: str, schema: Schema) -> None:
    """Copy the executors' rows into the session's staging table (server side, no round trip)."""
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in ["_line", *schema.field_names])
    with connection.cursor() as cursor:
        cursor.execute(
            # DISTINCT ON the line: a partition Spark ran twice (a lost executor) counts once.
            sql.SQL("INSERT INTO {} ({}) SELECT DISTINCT ON (_line) {} FROM {}").format(
                sql.Identifier(load.STAGE), columns, columns, sql.Identifier(table)
            )
        )


def spark_copy(*, frame: DataFrame, table: str, conninfo: str) -> int:
    """COPY ``frame`` (columns named as the table's) from every partition in parallel; rows copied."""
    from functools import partial

    from pyspark import cloudpickle

    from etl.engines.spark import copy as copy_module

    # Shipped by value: executors need psycopg and pyarrow, not this project.
    cloudpickle.register_pickle_by_value(copy_module)
    copy_partition = copy_module.copy_partition
    copied = frame.mapInArrow(partial(copy_partition, conninfo=conninfo, table=table), "rows long")
    return int(sum(row["rows"] for row in copied.collect()))
