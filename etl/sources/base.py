"""The source interface every transport implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


class SourceError(Exception):
    """A source cannot be used at all (bad configuration, authentication, host key)."""


class FetchError(SourceError):
    """A file could not be listed or fetched (after any retries)."""


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int | None = None
    modified: datetime | None = None


class Source(Protocol):
    """A place partner files are dropped.

    ``fetch`` must only ever return a complete file: download to a temporary
    name and rename when the size matches, so a partial transfer can never be
    ingested.
    """

    kind: str
    """Short name recorded on the run: ``local``, ``sftp``, ``s3``."""

    def list_files(self) -> list[RemoteFile]: ...

    def fetch(self, name: str, dest_dir: Path) -> Path: ...

    def after_success(self, name: str) -> None: ...
