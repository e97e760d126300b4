"""Load: stream batches into temporary staging tables, then one transaction publishes them.

Staging (``COPY`` into session-private temp tables) happens batch by batch, so
memory is bounded by the batch size. Deduplication across batches, the upsert
into the customers table, the quarantined records and the run's final status
all happen in :func:`staging_publish`'s single transaction: a crash anywhere
leaves either the whole file loaded with a succeeded run, or nothing.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection
from psycopg import sql

from dataflow.columns import CODES_COLUMN, MESSAGES_COLUMN
from dataflow.readers import LINE_COLUMN, LineFix
from dataflow.schema import Schema

STAGE = "etl_stage_records"
STAGE_QUARANTINE = "etl_stage_quarantine"
SEPARATOR = "\x1f"  # joins rule codes/messages for COPY; split back in SQL
NUL_SHOWN_AS = "\u2400"  # PostgreSQL text cannot hold NUL; quarantine shows this symbol instead
SQL_TYPES = {"string": "text", "integer": "bigint", "date": "date"}
QUARANTINE_COLUMNS = ("_line", "seq", "raw", "raw_text", "codes", "messages", "_key")
KEY_COLUMN = "__key__"
"""Beside a quarantined record's line: its key as transformed, when it has one (see
:func:`staging_supersede`)."""


@dataclass(frozen=True)
class StagedCounts:
    staged: int
    """Valid records copied into staging."""
    exact_duplicates: int
    """Records identical in every field to an earlier one."""
    key_duplicates: int
    """Further records whose key appeared earlier (the last occurrence wins)."""
    distinct_keys: int
    """Keys loaded: the distinct keys staged, less the superseded ones."""
    superseded: int = 0
    """Keys whose last record in the file was quarantined: none of their records is loaded, the
    staged ones count as key duplicates (:func:`staging_supersede`)."""

    @property
    def duplicates(self) -> int:
        return self.exact_duplicates + self.key_duplicates


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int


def advisory_key(sha256: str) -> int:
    """A signed 64-bit advisory-lock key derived from a file checksum (namespaced to ingest)."""
    digest = hashlib.sha256(b"etl.ingest:" + bytes.fromhex(sha256)).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def advisory_lock(*, sha256: str, on_wait: Any = None) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock on the checksum: one ingest of a file at a time.

    The server releases it if the process dies, so a killed ingest never blocks the next.
    """
    key = advisory_key(sha256)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cursor.fetchone()[0]:
            if on_wait is not None:
                on_wait()
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def lock_is_free(*, sha256: str) -> bool:
    """True when no other session holds the checksum's lock (its ingest is not running)."""
    key = advisory_key(sha256)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = bool(cursor.fetchone()[0])
        if acquired:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    return acquired


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def staging_create(*, schema: Schema) -> None:
    """(Re)create the session's temp staging tables."""
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(_ident(spec.name), sql.SQL(SQL_TYPES[spec.type])) for spec in schema.fields
    )
    with connection.cursor() as cursor:
        staging_drop()
        cursor.execute(sql.SQL("CREATE TEMP TABLE {} (_line bigint, {})").format(_ident(STAGE), columns))
        cursor.execute(
            sql.SQL(
                "CREATE TEMP TABLE {} (_line bigint, seq bigint, raw text, raw_text text,"
                " codes text, messages text, _key {})"
            ).format(_ident(STAGE_QUARANTINE), sql.SQL(SQL_TYPES[schema.field(schema.key).type]))
        )


def staging_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"pg_temp.{STAGE_QUARANTINE}"])
        return bool(cursor.fetchone()[0])


def staging_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(_ident(STAGE), _ident(STAGE_QUARANTINE)))


def _copy_csv(table: str, columns: list[str], frame: pl.DataFrame) -> None:
    if frame.height == 0:
        return
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, null_value="")
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        _ident(table), sql.SQL(", ").join(_ident(c) for c in columns)
    )
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(buffer.getbuffer())


def staging_copy(*, frame: pl.DataFrame, schema: Schema) -> None:
    """COPY valid, transformed records (schema fields + line) into the staging table."""
    columns = ["_line", *schema.field_names]
    _copy_csv(STAGE, columns, frame.select(pl.col(LINE_COLUMN).alias("_line"), *schema.field_names))


def quarantine_frame(
    *, problems: pl.DataFrame, raw: pl.DataFrame, raw_columns: list[str] | None = None
) -> pl.DataFrame:
    """Quarantine rows for records with problems: line, raw record (JSON), codes, messages.

    ``raw`` is the reader's batch (source column names + ``LINE_COLUMN``); the raw
    record is the file's own values for that line. ``problems`` may carry ``KEY_COLUMN``, the
    record's key as transformed (null where it has none).
    """
    columns = raw_columns or [c for c in raw.columns if c != LINE_COLUMN]
    safe = [pl.col(c).str.replace_all("\x00", NUL_SHOWN_AS, literal=True) for c in columns]
    raw_json = raw.select(pl.col(LINE_COLUMN), pl.struct(safe).struct.json_encode().alias("raw")).unique(
        LINE_COLUMN, keep="last"
    )
    key = pl.col(KEY_COLUMN) if KEY_COLUMN in problems.columns else pl.lit(None, dtype=pl.String)
    return (
        problems.select(LINE_COLUMN, CODES_COLUMN, MESSAGES_COLUMN, key.alias(KEY_COLUMN))
        .join(raw_json, on=LINE_COLUMN, how="left")
        .select(
            pl.col(LINE_COLUMN).alias("_line"),
            pl.lit(None, dtype=pl.Int64).alias("seq"),
            pl.col("raw"),
            pl.lit("").alias("raw_text"),
            pl.col(CODES_COLUMN).list.join(SEPARATOR).alias("codes"),
            pl.col(MESSAGES_COLUMN).list.join(SEPARATOR).alias("messages"),
            pl.col(KEY_COLUMN).alias("_key"),
        )
    )


def set_aside_frame(rows: list[Any]) -> pl.DataFrame:
    """Quarantine rows for records the reader could not parse (``SetAside``)."""
    return pl.DataFrame(
        {
            "_line": [r.line for r in rows],
            "seq": [r.seq for r in rows],
            "raw": [None] * len(rows),
            "raw_text": [r.text.replace("\x00", NUL_SHOWN_AS) for r in rows],
            "codes": [r.code for r in rows],
            "messages": [r.message for r in rows],
            "_key": [None] * len(rows),  # not parsed: no key known
        },
        schema={c: pl.Int64 if c in ("_line", "seq") else pl.String for c in QUARANTINE_COLUMNS},
    )


def quarantine_copy(*, frame: pl.DataFrame) -> None:
    _copy_csv(STAGE_QUARANTINE, list(QUARANTINE_COLUMNS), frame.select(QUARANTINE_COLUMNS))


def staging_fix_lines(*, fix: LineFix) -> None:
    """Apply lines learnt after reading (CSV with ragged or blank rows) to both staging tables."""
    with connection.cursor() as cursor:
        if fix.set_aside_lines:
            seqs = list(fix.set_aside_lines)
            lines = [fix.set_aside_lines[s] for s in seqs]
            cursor.execute(
                sql.SQL(
                    "UPDATE {} q SET _line = f.line FROM unnest(%s::bigint[], %s::bigint[]) AS f(seq, line) "
                    "WHERE q.seq = f.seq"
                ).format(_ident(STAGE_QUARANTINE)),
                [seqs, lines],
            )
        if not fix.shifts:
            return
        # One step per provisional start (the largest shift wins), indexed: one lookup per record.
        steps: dict[int, int] = {}
        for start, add in fix.shifts:
            steps[start] = max(add, steps.get(start, 0))
        cursor.execute("DROP TABLE IF EXISTS etl_stage_line_steps")
        cursor.execute(
            "CREATE TEMP TABLE etl_stage_line_steps (start bigint PRIMARY KEY, add bigint NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO etl_stage_line_steps SELECT * FROM unnest(%s::bigint[], %s::bigint[])",
            [list(steps), list(steps.values())],
        )
        for table, where in ((STAGE, "TRUE"), (STAGE_QUARANTINE, "t.seq IS NULL")):
            cursor.execute(
                sql.SQL(
                    "UPDATE {} t SET _line = t._line + ("
                    " SELECT s.add FROM etl_stage_line_steps s WHERE s.start <= t._line"
                    " ORDER BY s.start DESC LIMIT 1)"
                    " WHERE {} AND t._line >= %s"
                ).format(_ident(table), sql.SQL(where)),
                [min(steps)],
            )
        cursor.execute("DROP TABLE etl_stage_line_steps")


def fields_sql(schema: Schema, prefix: str = "") -> sql.Composable:
    return sql.SQL(", ").join(
        sql.SQL(prefix) + _ident(name) if prefix else _ident(name) for name in schema.field_names
    )


def last_quarantined_sql() -> sql.Composable:
    """Each key of a quarantined record with the last line it was quarantined on."""
    return sql.SQL("SELECT _key, max(_line) AS last FROM {} WHERE _key IS NOT NULL GROUP BY _key").format(
        _ident(STAGE_QUARANTINE)
    )


def staging_counts(*, schema: Schema) -> StagedCounts:
    """Staged records, and how many are duplicates (exact, then same key), across all batches.

    Exact duplicates share their key, so only keys seen more than once are compared whole. A key
    whose last record was quarantined is superseded: its staged records are all duplicates.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "WITH keys AS (SELECT {key}, count(*) AS n, max(_line) AS last FROM {stage} GROUP BY {key}),"
                " repeated AS (SELECT {fields} FROM {stage}"
                "  WHERE {key} IN (SELECT {key} FROM keys WHERE n > 1))"
                " SELECT (SELECT coalesce(sum(n), 0) FROM keys), (SELECT count(*) FROM keys),"
                " (SELECT count(*) FROM repeated),"
                " (SELECT count(*) FROM (SELECT DISTINCT * FROM repeated) d),"
                " (SELECT count(*) FROM keys k"
                "  JOIN ({quarantined}) q ON q._key = k.{key} AND q.last > k.last)"
            ).format(
                stage=_ident(STAGE),
                fields=fields_sql(schema),
                key=_ident(schema.key),
                quarantined=last_quarantined_sql(),
            )
        )
        staged, keys, repeated, repeated_distinct, superseded = cursor.fetchone()
    exact = repeated - repeated_distinct
    return StagedCounts(
        staged=int(staged),
        exact_duplicates=exact,
        key_duplicates=int(staged) - exact - (keys - superseded),
        distinct_keys=keys - superseded,
        superseded=superseded,
    )


def staging_supersede(*, schema: Schema) -> int:
    """Drop the staged records that come before a quarantined record with the same key; how many.

    The last occurrence of a key wins, valid or not: when it was quarantined, loading an
    earlier, valid occurrence instead would write older data over what the table holds (the
    quarantined record says why the key is not loaded). A record whose key could not be read
    (not parsed, or its key missing or malformed) supersedes nothing.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "DELETE FROM {stage} s USING ({quarantined}) q WHERE s.{key} = q._key AND s._line < q.last"
            ).format(stage=_ident(STAGE), quarantined=last_quarantined_sql(), key=_ident(schema.key))
        )
        return cursor.rowcount


def staged_latest_sql(schema: Schema) -> sql.Composable:
    # The last occurrence of a key in the file wins (a quarantined one took its key's records out).
    return sql.SQL("SELECT DISTINCT ON ({key}) {fields} FROM {stage} ORDER BY {key}, _line DESC").format(
        key=_ident(schema.key), fields=fields_sql(schema), stage=_ident(STAGE)
    )


def quarantine_publish(*, run_id: int, table: str, max_chars: int | None = None) -> int:
    """Copy staged quarantine rows into ``table`` (the ingestion app's quarantined records), onto the
    run (inside the publishing transaction).

    A record longer than ``max_chars`` (``QUARANTINE_RAW_MAX_CHARS``; its JSON text when it was
    parsed) keeps only its first ``max_chars`` characters in ``raw_text`` (``raw`` empty), with
    the whole record's size in bytes and sha256: one oversized field cannot fill the table or the
    API's pages.
    """
    cap = max_chars or settings.QUARANTINE_RAW_MAX_CHARS
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "INSERT INTO {} (run_id, line_number, raw, raw_text, raw_truncated, raw_size, raw_sha256,"
                " rule_codes, messages, created_at)"
                " SELECT %(run)s, _line,"
                " CASE WHEN cut THEN NULL ELSE raw::jsonb END,"
                " CASE WHEN cut THEN left(whole, %(cap)s) ELSE coalesce(raw_text, '') END,"
                " cut, CASE WHEN cut THEN octet_length(whole) END,"
                " CASE WHEN cut THEN encode(sha256(convert_to(whole, 'UTF8')), 'hex') ELSE '' END,"
                " to_jsonb(string_to_array(codes, %(sep)s)),"
                " to_jsonb(string_to_array(messages, %(sep)s)), now()"
                " FROM (SELECT *, char_length(whole) > %(cap)s AS cut FROM"
                "  (SELECT *, coalesce(raw, raw_text, '') AS whole FROM {}) AS staged) AS q"
                " ORDER BY _line NULLS LAST, seq"
            ).format(_ident(table), _ident(STAGE_QUARANTINE)),
            {"run": run_id, "cap": cap, "sep": SEPARATOR},
        )
        return cursor.rowcount
