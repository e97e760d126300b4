"""``manage.py lake``: SQL over the curated tables, snapshots, maintenance, repair from PostgreSQL.

manage.py lake query "SELECT country, count(*) FROM curated.customers GROUP BY 1"
    [--format table|csv|json] [--as-of SNAPSHOT_ID|ISO_TIMESTAMP]
manage.py lake snapshots curated.customers [--format json]
manage.py lake maintenance
manage.py lake sync
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from sqlalchemy.exc import SQLAlchemyError

from common.schema import schema_checked
from lake import LakeError, lake_sync
from lake.maintenance import lake_maintenance, lake_snapshots
from lake.query import FORMATS, lake_query, result_render, rows_render

ERR_UNREACHABLE = "lake unreachable: {error}"
SNAPSHOT_COLUMNS = [
    "snapshot_id",
    "table",
    "timestamp",
    "run_id",
    "operation",
    "added_records",
    "total_records",
]
"""The table format's columns: ``table`` names the physical table (curated.customers lists two)."""


def _first_line(exc: BaseException) -> str:
    lines = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return lines[0]


class Command(BaseCommand):
    help = "Query the lake's curated tables with SQL (with time travel), list snapshots, maintain, sync."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        query = sub.add_parser("query", help="Run a SELECT over curated.* tables with DuckDB.")
        query.add_argument("sql")
        query.add_argument("--format", choices=FORMATS, default="table")
        query.add_argument("--as-of", dest="as_of", help="Snapshot id or ISO timestamp (UTC if no offset).")
        snapshots = sub.add_parser("snapshots", help="List a table's snapshots, oldest first.")
        snapshots.add_argument("table", help="e.g. curated.customers")
        snapshots.add_argument("--format", choices=("table", "json"), default="table")
        sub.add_parser("maintenance", help="Compact small files, expire old snapshots (LAKE_SNAPSHOT_*).")
        sub.add_parser(
            "sync", help="Rebuild the curated tables from PostgreSQL (repairs a failed lake step)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with schema_checked():
                getattr(self, f"_{options['action']}")(options)
        except LakeError as exc:
            raise CommandError(str(exc)) from exc
        except (OSError, SQLAlchemyError) as exc:  # storage or catalog unreachable
            raise CommandError(ERR_UNREACHABLE.format(error=_first_line(exc))) from exc

    def _query(self, options: dict[str, Any]) -> None:
        result = lake_query(sql=options["sql"], as_of=options["as_of"])
        self.stdout.write(result_render(result, fmt=options["format"]))
        if options["verbosity"] >= 2:
            # curated.customers is its base's scan under a second name: each physical scan once.
            for scan in {scan.table: scan for scan in result.scans.values()}.values():
                self.stderr.write(
                    f"curated.{scan.table}: snapshot {scan.snapshot_id}, "
                    f"{scan.files_scanned} of {scan.files_total} files, filter {scan.row_filter}"
                )

    def _snapshots(self, options: dict[str, Any]) -> None:
        rows = lake_snapshots(table_name=options["table"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2))
        else:
            self.stdout.write(rows_render(SNAPSHOT_COLUMNS, rows))

    def _maintenance(self, options: dict[str, Any]) -> None:
        for r in lake_maintenance():
            self.stdout.write(
                f"{r.table}: merged {r.changes_merged} change rows, "
                f"compacted {r.files_compacted} files in {r.partitions_compacted} partitions, "
                f"expired {r.snapshots_expired} snapshots, deleted {r.files_deleted} files"
            )

    def _sync(self, options: dict[str, Any]) -> None:
        outcome = lake_sync()
        repaired = ", ".join(map(str, outcome.repaired_runs)) or "none"
        self.stdout.write(
            f"curated tables rebuilt from PostgreSQL (customers snapshot {outcome.snapshot_id}); "
            f"runs repaired: {repaired}"
        )
