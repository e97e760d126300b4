"""What the ingestion app knows of an upload's job in the task queue, below the modules that
queue it (:mod:`ingestion.uploads`), run it (:mod:`ingestion.tasks`) and settle its run
(:mod:`ingestion.services`)."""

from __future__ import annotations

UPLOAD_SOURCE = "upload"
"""``IngestionRun.source`` of an uploaded file."""
INGEST_UPLOAD_TASK = "ingest_upload"
"""The worker's task that ingests an accepted upload (:func:`ingestion.tasks.ingest_upload`)."""
