"""The source interface every transport implements."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


class SourceError(Exception):
    """A source cannot be used at all (bad configuration, authentication, host key)."""


class FetchError(SourceError):
    """A file could not be listed or fetched (after any retries)."""


class PermanentSourceError(SourceError):
    """A failure that retrying cannot fix: it is raised at once, never retried."""


class AuthenticationError(PermanentSourceError):
    """The server refused the credentials (wrong password, key or access key)."""


class HostKeyError(PermanentSourceError):
    """The SFTP server's host key is unknown or differs from the trusted one."""


class RefusedFileError(PermanentSourceError):
    """The entry is not a regular file (a symbolic link, a folder, a device...): never read or
    copied; the run is ``rejected`` (the file itself is the problem, issue #14)."""


class IncompleteTransferError(SourceError):
    """A download ended before the whole file arrived (retried; never returned as a file)."""


AFTER_SUCCESS_ACTIONS = ("leave", "move", "delete")
"""What a remote source does with a file once it has loaded: leave it, move it
to the processed folder, or delete it."""


def name_matches(name: str, patterns: str) -> bool:
    """Whether ``name`` matches one of the comma-separated glob ``patterns``."""
    globs = [p.strip() for p in patterns.split(",") if p.strip()]
    return not name.startswith(".") and any(fnmatch.fnmatchcase(name, glob) for glob in globs)


def check_file_name(name: str) -> None:
    """A file name, never a path: a partner cannot make us read outside the drop folder."""
    if not name or name in {".", ".."} or "/" in name or "\\" in name or "\x00" in name:
        raise FetchError(f"{name!r}: not a plain file name")


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
