"""What a swap of the customers table needs to know of it: what would break, and how to rebuild it.

:func:`bulk_blockers` names what depends on the table that a new version
swapped in would break (the bulk load then takes the normal path);
:func:`catalog_read` reads its indexes, constraints, statistics objects and
sequences as SQL for the new version, under temporary names
(:mod:`dataflow.bulk` renames them at the swap).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from psycopg import sql

NEW_PREFIX = "etl_bulk_"
"""The new table's name (and its objects' temporary names) start with this."""

_INDEX_DEF = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ (USING .+)$", re.S)
_STATISTICS_DEF = re.compile(r"^CREATE STATISTICS \S+ (.+) FROM \S+$", re.S)


@dataclass
class Rename:
    kind: str
    """``INDEX``, ``CONSTRAINT``, ``STATISTICS`` or ``SEQUENCE``."""
    temporary: str
    final: str


@dataclass
class Catalog:
    """What the new table needs of the real one, as SQL for the new table."""

    options: list[str] = field(default_factory=list)
    """The table's storage parameters (``fillfactor=90``...)."""
    builds: list[sql.Composable] = field(default_factory=list)
    """Indexes, constraints and statistics objects, under temporary names."""
    renames: list[Rename] = field(default_factory=list)
    sequences: dict[str, str] = field(default_factory=dict)
    """Column → the real table's sequence (identity or serial)."""
    problem: str = ""
    """Why the catalog cannot be copied (empty when it can)."""


def _rows(query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


_BLOCKERS = (
    ("foreign keys reference it", "SELECT conname FROM pg_constraint WHERE confrelid = %s AND contype = 'f'"),
    (
        "views read it",
        "SELECT DISTINCT r.ev_class::regclass::text FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid"
        " WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = %s AND r.ev_class <> d.refobjid",
    ),
    ("triggers fire on it", "SELECT tgname FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal"),
    (
        "row-level security is on",
        "SELECT relname FROM pg_class WHERE oid = %s AND (relrowsecurity OR relforcerowsecurity"
        " OR EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = pg_class.oid))",
    ),
    (
        "publications include it",
        "SELECT p.pubname FROM pg_publication p WHERE p.puballtables"
        " OR EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prpubid = p.oid AND r.prrelid = %s)"
        " OR EXISTS (SELECT 1 FROM pg_publication_namespace n WHERE n.pnpubid = p.oid"
        "  AND n.pnnspid = (SELECT relnamespace FROM pg_class WHERE oid = %s))",
    ),
    (
        "privileges are granted on it",
        "SELECT relname FROM pg_class WHERE oid = %s AND (relacl IS NOT NULL"
        " OR EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = %s AND attacl IS NOT NULL))",
    ),
    (
        "it is partitioned or inherited",
        "SELECT relname FROM pg_class WHERE oid = %s AND (relkind <> 'r'"
        " OR EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = %s OR inhparent = %s))",
    ),
    (
        "another role owns it",
        "SELECT relname FROM pg_class WHERE oid = %s AND relowner <> (SELECT oid FROM pg_roles"
        " WHERE rolname = current_user)",
    ),
    (
        "other objects depend on it",
        # A generated column's expression (pg_attrdef) depends on the columns it reads: the
        # table's own, copied by LIKE ... INCLUDING GENERATED, so not a blocker.
        "SELECT DISTINCT pg_describe_object(classid, objid, objsubid) FROM pg_depend"
        " WHERE deptype = 'n' AND classid NOT IN ('pg_rewrite'::regclass, 'pg_constraint'::regclass)"
        " AND NOT (classid = 'pg_attrdef'::regclass"
        "  AND objid IN (SELECT oid FROM pg_attrdef WHERE adrelid = %s))"
        " AND ((refclassid = 'pg_class'::regclass AND refobjid = %s) OR (refclassid = 'pg_type'::regclass"
        "  AND refobjid = (SELECT reltype FROM pg_class WHERE oid = %s)))",
    ),
)


def bulk_blockers(table: str) -> str:
    """Why swapping a new version of ``table`` in would break something (empty: nothing would)."""
    oid = _rows("SELECT %s::regclass::oid", [table])[0][0]
    for reason, query in _BLOCKERS:
        found = _rows(query, [oid] * query.count("%s"))
        if found:
            return f"{reason} ({', '.join(sorted(str(row[0]) for row in found))})"
    return ""


def _index_builds(oid: int, new: sql.Identifier, catalog: Catalog, schema_name: str) -> None:
    """The indexes not behind a constraint (those come with their constraint), and their columns'
    statistics targets."""
    rows = _rows(
        "SELECT i.indexrelid::regclass::text, c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s AND NOT EXISTS ("
        " SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = %s)"
        " ORDER BY c.relname",
        [oid, oid],
    )
    for number, (regclass, name, definition) in enumerate(rows):
        match = _INDEX_DEF.match(definition)
        if match is None:
            catalog.problem = f"index {name}: definition not understood"
            return
        temporary = f"{NEW_PREFIX}i{number}"
        catalog.builds.append(
            sql.SQL("CREATE {unique}INDEX {name} ON {new} {rest}").format(
                unique=sql.SQL(match.group(1) or ""),
                name=sql.Identifier(temporary),
                new=new,
                rest=sql.SQL(match.group(2)),
            )
        )
        catalog.renames.append(Rename("INDEX", temporary, name))
        for column, target in _rows(
            "SELECT attnum, attstattarget FROM pg_attribute WHERE attrelid = %s::regclass"
            " AND attstattarget IS NOT NULL AND attstattarget >= 0",
            [regclass],
        ):
            catalog.builds.append(
                sql.SQL("ALTER INDEX {} ALTER COLUMN {} SET STATISTICS {}").format(
                    sql.Identifier(schema_name, temporary), sql.Literal(column), sql.Literal(target)
                )
            )


def _constraint_builds(oid: int, new: sql.Identifier, catalog: Catalog) -> None:
    """Primary key, unique, exclusion, check and foreign-key constraints (NOT NULL comes with LIKE)."""
    rows = _rows(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s AND contype IN ('p', 'u', 'x', 'c', 'f') ORDER BY contype = 'f', conname",
        [oid],
    )
    for number, (name, definition) in enumerate(rows):
        temporary = f"{NEW_PREFIX}c{number}"
        catalog.builds.append(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                new, sql.Identifier(temporary), sql.SQL(definition)
            )
        )
        catalog.renames.append(Rename("CONSTRAINT", temporary, name))


def _statistics_builds(oid: int, new: sql.Identifier, catalog: Catalog, schema_name: str) -> None:
    rows = _rows(
        "SELECT stxname, pg_get_statisticsobjdef(oid), stxstattarget FROM pg_statistic_ext"
        " WHERE stxrelid = %s ORDER BY stxname",
        [oid],
    )
    for number, (name, definition, target) in enumerate(rows):
        match = _STATISTICS_DEF.match(definition)
        if match is None:
            catalog.problem = f"statistics {name}: definition not understood"
            return
        temporary = sql.Identifier(schema_name, f"{NEW_PREFIX}s{number}")
        catalog.builds.append(
            sql.SQL("CREATE STATISTICS {} {} FROM {}").format(temporary, sql.SQL(match.group(1)), new)
        )
        if target is not None and target >= 0:
            catalog.builds.append(
                sql.SQL("ALTER STATISTICS {} SET STATISTICS {}").format(temporary, sql.Literal(target))
            )
        catalog.renames.append(Rename("STATISTICS", f"{NEW_PREFIX}s{number}", name))


def catalog_read(*, table: str, schema_name: str, new: str) -> Catalog:
    """The real table's indexes, constraints, statistics and sequences, rewritten for ``new``."""
    catalog = Catalog()
    oid, options = _rows("SELECT oid, reloptions FROM pg_class WHERE oid = %s::regclass", [table])[0]
    catalog.options = list(options or [])
    target = sql.Identifier(schema_name, new)
    _constraint_builds(oid, target, catalog)
    _index_builds(oid, target, catalog, schema_name)
    if not catalog.problem:
        _statistics_builds(oid, target, catalog, schema_name)
    for name, target_value in _rows(
        "SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = %s AND attnum > 0"
        " AND NOT attisdropped AND attstattarget IS NOT NULL AND attstattarget >= 0",
        [oid],
    ):
        catalog.builds.append(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET STATISTICS {}").format(
                target, sql.Identifier(name), sql.Literal(target_value)
            )
        )
    for column, sequence in _rows(
        "SELECT attname, pg_get_serial_sequence(%s, attname) FROM pg_attribute WHERE attrelid = %s"
        " AND attnum > 0 AND NOT attisdropped AND pg_get_serial_sequence(%s, attname) IS NOT NULL",
        [table, oid, table],
    ):
        catalog.sequences[column] = sequence
    return catalog
