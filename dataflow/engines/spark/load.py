"""Spark → PostgreSQL: every Spark partition streams its rows with ``COPY`` (no JDBC jar).

Spark executors are other processes (other machines on a cluster): they
cannot see the driver's session-private temp staging table. So they COPY into
a per-run UNLOGGED table; the driver then moves it into the usual staging
table inside its own session, and the shared load code
(:mod:`dataflow.load`: counts, upsert, quarantine, run status) takes over, in the
same single transaction as the Polars engine.

:func:`dataflow.engines.spark.copy.copy_partition` runs on the executors: it imports
only psycopg and pyarrow, never Django.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import structlog
from django.db import connection
from psycopg import sql

from dataflow import load
from dataflow.engines.base import RunningAmong
from dataflow.schema import Schema

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = structlog.get_logger("etl.ingest")

SPARK_STAGE = "etl_spark_stage_run_{run_id}"
_SPARK_STAGE_NAME = re.compile(re.escape(SPARK_STAGE.format(run_id="")) + r"(\d+)")
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


def spark_stages_drop_orphans(*, running: RunningAmong) -> list[str]:
    """Drop the runs' UNLOGGED staging tables whose run is not ``running``; returns their names.

    A Spark run killed between :func:`spark_stage_create` and
    :func:`spark_stage_drop` leaves its table behind (UNLOGGED tables outlive
    the session). Call it after :func:`ingestion.services.runs_fail_stale`: a run
    still ``running`` then belongs to a live process, on any host, whose
    executors may be writing into its table. ``running`` tells which of
    some run ids are (:func:`ingestion.selectors.runs_running_among`).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE %s",
            [SPARK_STAGE.format(run_id="%")],
        )
        tables = {
            int(m[1]): m[0] for (name,) in cursor.fetchall() if (m := _SPARK_STAGE_NAME.fullmatch(name))
        }
    # Tables first, statuses second: a run starting in between has no table in the list yet,
    # so a live run's table is never taken for an orphan.
    live = running(list(tables))
    dropped = sorted(name for run_id, name in tables.items() if run_id not in live)
    for table in dropped:
        spark_stage_drop(table=table)
    if dropped:
        log.warning("ingest.spark_stages_dropped", tables=dropped)
    return dropped


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

    from dataflow.engines.spark import copy as copy_module

    # Shipped by value: executors need psycopg and pyarrow, not this project.
    cloudpickle.register_pickle_by_value(copy_module)
    copy_partition = copy_module.copy_partition
    copied = frame.mapInArrow(partial(copy_partition, conninfo=conninfo, table=table), "rows long")
    return int(sum(row["rows"] for row in copied.collect()))
