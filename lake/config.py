"""Typed settings of the lake stage, read once from Django settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

NAMESPACE = "curated"
"""Iceberg namespace of the curated tables (``curated.customers`` in SQL)."""


@dataclass(frozen=True)
class LakeConfig:
    uri: str
    """Root of the zones: a local folder or ``s3://bucket/prefix``."""
    catalog_name: str = "lake"
    """pyiceberg catalog name; ``PYICEBERG_CATALOG__<NAME>__*`` variables override its properties."""
    catalog_type: str = "sql"
    """``sql`` (default, in our PostgreSQL), ``rest``, ``glue``, ``hive`` or ``dynamodb``."""
    catalog_uri: str = ""
    """Catalog URI; empty with ``sql`` means Django's database, schema ``catalog_schema``."""
    catalog_schema: str = "iceberg_catalog"
    """PostgreSQL schema holding the SQL catalog's two tables."""
    retention_days: int = 7
    """Snapshots older than this are expired by ``lake maintenance``..."""
    keep_last: int = 10
    """...except the newest ``keep_last`` of each table, which are always kept."""
    compact_min_files: int = 4
    """A partition with at least this many data files is compacted into one."""
    s3: dict[str, str] = field(default_factory=dict)
    """endpoint, access_key_id, secret_access_key, session_token, region."""

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")

    @property
    def warehouse(self) -> str:
        """Iceberg warehouse: tables live at ``<uri>/curated/<table>``."""
        return self.uri if "://" in self.uri else f"file://{self.uri}"


def lake_config() -> LakeConfig:
    return LakeConfig(
        uri=settings.LAKE_URI,
        catalog_name=settings.LAKE_CATALOG_NAME,
        catalog_type=settings.LAKE_CATALOG_TYPE,
        catalog_uri=settings.LAKE_CATALOG_URI,
        catalog_schema=settings.LAKE_CATALOG_SCHEMA,
        retention_days=settings.LAKE_SNAPSHOT_RETENTION_DAYS,
        keep_last=settings.LAKE_SNAPSHOT_KEEP_LAST,
        compact_min_files=settings.LAKE_COMPACT_MIN_FILES,
        s3=dict(settings.LAKE_S3),
    )
