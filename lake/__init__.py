"""The data lake (issue #7): raw/ and processed/ zones, curated Apache Iceberg tables, SQL over them.

Public interface, called by the pipeline (through :mod:`lake.hook`) and
the ``lake`` command:

- :func:`lake_raw_write` right after a file is fetched (before processing);
- :func:`lake_publish_run` after the run's PostgreSQL commit (never raises,
  records its outcome on the run);
- :func:`lake_sync` to rebuild the curated tables from PostgreSQL;
- ``lake.query.lake_query``, ``lake.maintenance.lake_snapshots`` and
  ``lake_maintenance``.

Names are imported on first use: pyiceberg and SQLAlchemy cost seconds to
import, and every Django process imports this package to register the hook.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "LakeConfig": "lake.config",
    "lake_config": "lake.config",
    "LakeError": "lake.errors",
    "LakeOutcome": "lake.sync",
    "lake_publish_run": "lake.sync",
    "lake_sync": "lake.sync",
    "lake_processed_read": "lake.zones",
    "lake_processed_upload": "lake.zones",
    "lake_processed_write": "lake.zones",
    "lake_raw_read": "lake.zones",
    "lake_raw_receipts": "lake.zones",
    "lake_raw_write": "lake.zones",
}
__all__ = [
    "LakeConfig",
    "LakeError",
    "LakeOutcome",
    "lake_config",
    "lake_processed_read",
    "lake_processed_upload",
    "lake_processed_write",
    "lake_publish_run",
    "lake_raw_read",
    "lake_raw_receipts",
    "lake_raw_write",
    "lake_sync",
]

if TYPE_CHECKING:
    from lake.config import LakeConfig, lake_config
    from lake.errors import LakeError
    from lake.sync import LakeOutcome, lake_publish_run, lake_sync
    from lake.zones import (
        lake_processed_read,
        lake_processed_upload,
        lake_processed_write,
        lake_raw_read,
        lake_raw_receipts,
        lake_raw_write,
    )


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lake' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
