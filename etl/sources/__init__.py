"""Where partner files come from: a local folder, SFTP or S3, behind one interface."""

from etl.sources.base import FetchError, RemoteFile, Source, SourceError
from etl.sources.local import LocalSource

__all__ = ["FetchError", "LocalSource", "RemoteFile", "Source", "SourceError"]
