"""The hooks an ingest runs, as the ``INGEST_HOOKS`` setting names them (dotted class paths).

The ingest command builds them once and passes them to every file it ingests
(:func:`ingestion.pipeline.ingest_file` takes them explicitly; nothing is registered globally).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from dataflow.context import IngestHook


def ingest_hooks() -> list[IngestHook]:
    """One instance of each hook class in ``INGEST_HOOKS``, in order."""
    return [import_string(path)() for path in settings.INGEST_HOOKS]
