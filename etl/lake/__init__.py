"""The data lake (issue #7): raw/ and processed/ zones, curated Apache Iceberg tables, SQL over them.

Public interface, called by the pipeline and the ``lake`` command:

- :func:`lake_raw_write` right after a file is fetched (before processing);
- :func:`lake_publish_run` after the run's PostgreSQL commit (never raises,
  records its outcome on the run);
- :func:`lake_sync` to rebuild the curated tables from PostgreSQL;
- :func:`lake_query`, :func:`lake_snapshots`, :func:`lake_maintenance`.
"""

from etl.lake.config import LakeConfig, lake_config
from etl.lake.errors import LakeError
from etl.lake.sync import LakeOutcome, lake_publish_run, lake_sync
from etl.lake.zones import (
    lake_processed_read,
    lake_processed_write,
    lake_raw_read,
    lake_raw_receipts,
    lake_raw_write,
)

__all__ = [
    "LakeConfig",
    "LakeError",
    "LakeOutcome",
    "lake_config",
    "lake_processed_read",
    "lake_processed_write",
    "lake_publish_run",
    "lake_raw_read",
    "lake_raw_receipts",
    "lake_raw_write",
    "lake_sync",
]
