"""Snapshot listing and maintenance of the curated tables (compaction, snapshot expiry).

pyiceberg 0.12 expires snapshots in the metadata only and has no compaction,
so both are done here: small files of a partition are rewritten into one
(one ``compact`` snapshot), then snapshots past the retention are expired and
the files only they referenced (data files, manifests, manifest lists) are deleted.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from lake import views
from lake.catalog import lake_catalog
from lake.changelog import BASE, CHANGES, COUNTS, counts_compact, customers_compact
from lake.config import NAMESPACE, LakeConfig, lake_config
from lake.curated import months_filter
from lake.errors import ERR_NO_SUCH_TABLE, LakeError
from lake.sync import writer_lock
from lake.tables import OPERATION, files_commit, table_load


def lake_snapshots(*, table_name: str, config: LakeConfig | None = None) -> list[dict[str, Any]]:
    """The snapshots behind a curated table, oldest first: id, table, time, run id, operation, counts.

    curated.customers lists those of its base and of its change log.
    """
    name = views.table_name(table_name)
    catalog = lake_catalog(config or lake_config())
    if table_load(catalog, views.SOURCES[name][0]) is None:
        raise LakeError(ERR_NO_SUCH_TABLE.format(name=table_name, tables=", ".join(views.TABLES)))
    return views.snapshots_list(catalog, name=name)


@dataclass
class MaintenanceReport:
    table: str
    changes_merged: int = 0
    """Change-log rows merged into the base (customers_base, customers_by_country_day)."""
    partitions_compacted: int = 0
    files_compacted: int = 0
    snapshots_expired: int = 0
    files_deleted: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def table_compact(table: Table, *, min_files: int) -> tuple[int, int]:
    """Rewrite every partition holding ``min_files`` or more data files into one file, in one snapshot."""
    if table.current_snapshot() is None:
        return 0, 0
    by_partition: dict[tuple[int, tuple[Any, ...]], list[DataFile]] = defaultdict(list)
    for task in table.scan().plan_files():
        by_partition[
            (task.file.spec_id, tuple(task.file.partition[i] for i in range(len(task.file.partition))))
        ].append(task.file)
    small = {key: files for key, files in by_partition.items() if len(files) >= min_files}
    if not small:
        return 0, 0
    if table.spec().is_unpartitioned():
        rows = table.scan().to_arrow()
    else:
        rows = table.scan(row_filter=months_filter({key[1][0] for key in small})).to_arrow()
    files = [f for group in small.values() for f in group]
    files_commit(table, remove=files, add=rows, properties={OPERATION: "compact"})
    return len(small), len(files)


def _referenced(table: Table, snapshot_ids: set[int]) -> set[str]:
    paths: set[str] = set()
    for snapshot_id in snapshot_ids:
        snapshot = table.snapshot_by_id(snapshot_id)
        if snapshot is None:
            continue
        paths.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            paths.add(manifest.manifest_path)
            paths.update(
                e.data_file.file_path for e in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
            )
    return paths


def table_expire(table: Table, *, older_than: dt.datetime, keep_last: int) -> tuple[int, int]:
    """Expire snapshots before ``older_than`` but the newest ``keep_last``; delete what only they used."""
    snapshots = sorted(table.snapshots(), key=lambda s: s.timestamp_ms)
    keep = {s.snapshot_id for s in snapshots[-keep_last:]}
    current = table.current_snapshot()
    if current is not None:
        keep.add(current.snapshot_id)
    cutoff = int(older_than.timestamp() * 1000)
    expired = {s.snapshot_id for s in snapshots if s.timestamp_ms < cutoff and s.snapshot_id not in keep}
    if not expired:
        return 0, 0
    candidates = _referenced(table, expired)
    table.maintenance.expire_snapshots().by_ids(sorted(expired)).commit()
    table.refresh()
    still_used = _referenced(table, {s.snapshot_id for s in table.snapshots()})
    orphans = sorted(candidates - still_used)
    for path in orphans:
        table.io.delete(path)
    return len(expired), len(orphans)


def lake_maintenance(
    *, config: LakeConfig | None = None, now: dt.datetime | None = None
) -> list[MaintenanceReport]:
    """Merge the change log into the base, compact small files, then expire snapshots per
    LAKE_SNAPSHOT_RETENTION_DAYS / _KEEP_LAST. Under the lake writer lock (runs wait)."""
    config = config or lake_config()
    with writer_lock():
        return _maintain(config, now=now)


def _merged(catalog: Any) -> dict[str, int]:
    base, changes, counts = (table_load(catalog, name) for name in (BASE, CHANGES, COUNTS))
    merged: dict[str, int] = {}
    if base is not None and changes is not None:
        merged[BASE] = customers_compact(base, changes, properties={OPERATION: "compact"}).changes_merged
    if counts is not None:
        merged[COUNTS] = counts_compact(counts, properties={OPERATION: "compact"})
    return merged


def _maintain(config: LakeConfig, *, now: dt.datetime | None) -> list[MaintenanceReport]:
    catalog = lake_catalog(config)
    older_than = (now or dt.datetime.now(tz=dt.UTC)) - dt.timedelta(days=config.retention_days)
    merged = _merged(catalog)
    reports = []
    for name in views.PHYSICAL:
        table = table_load(catalog, name)
        if table is None:
            continue
        report = MaintenanceReport(table=f"{NAMESPACE}.{name}", changes_merged=merged.get(name, 0))
        report.partitions_compacted, report.files_compacted = table_compact(
            table, min_files=config.compact_min_files
        )
        report.snapshots_expired, report.files_deleted = table_expire(
            table, older_than=older_than, keep_last=config.keep_last
        )
        reports.append(report)
    return reports
