"""Where partner files come from: a local folder, SFTP or S3, behind one interface.

:func:`source_for` is the one place a source is built from its kind and the
settings; a new transport adds one entry to ``SOURCE_FACTORIES``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from dataflow.sources.base import FetchError, RemoteFile, Source, SourceError
from dataflow.sources.local import LocalSource

UNKNOWN_SOURCE = "unknown source {kind!r} (available: {available})"


def _local_source(directory: Path | None = None) -> Source:
    return LocalSource(Path(directory or settings.INGEST_LOCAL_DIR))


def _sftp_source() -> Source:
    from dataflow.sources.sftp import sftp_source  # paramiko is imported only when SFTP is used

    return sftp_source()


def _s3_source() -> Source:
    from dataflow.sources.s3 import s3_source  # boto3 is imported only when S3 is used

    return s3_source()


SOURCE_FACTORIES: dict[str, Callable[..., Source]] = {
    "local": _local_source,
    "sftp": _sftp_source,
    "s3": _s3_source,
}


def source_for(kind: str | None = None, **overrides: object) -> Source:
    """The configured source of ``kind`` (default ``INGEST_SOURCE``); ``overrides`` go to its factory."""
    kind = kind or settings.INGEST_SOURCE
    factory = SOURCE_FACTORIES.get(kind)
    if factory is None:
        raise SourceError(UNKNOWN_SOURCE.format(kind=kind, available=", ".join(sorted(SOURCE_FACTORIES))))
    return factory(**overrides)


__all__ = [
    "SOURCE_FACTORIES",
    "FetchError",
    "LocalSource",
    "RemoteFile",
    "Source",
    "SourceError",
    "source_for",
]
