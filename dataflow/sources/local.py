"""A local folder as a source (the default: ``scripts/downloads/``).

Only regular files are read: a symbolic link (``/etc/passwd`` behind a
partner's ``customers.csv``), a folder, a FIFO or a device is refused, checked
on the open file itself (``O_NOFOLLOW`` + ``fstat``), so nothing can be swapped
in between the check and the copy.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import structlog

from dataflow.sources.base import FetchError, RefusedFileError, RemoteFile

log = structlog.get_logger("etl.sources.local")  # its name before the move (#17): log filters use it

NOT_REGULAR = "not a regular file ({kind}); refused, nothing was read"
KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
}


def entry_kind(mode: int) -> str:
    return KINDS.get(stat.S_IFMT(mode), "not a plain file")


def open_regular(path: Path) -> int:
    """A read-only descriptor of ``path`` if it is a regular file, else :class:`RefusedFileError`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW: the last component is a symbolic link
            raise RefusedFileError(NOT_REGULAR.format(kind=KINDS[stat.S_IFLNK])) from exc
        raise FetchError(f"{path}: no such file in the source folder") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise RefusedFileError(NOT_REGULAR.format(kind=entry_kind(mode)))
    return fd


class LocalSource:
    kind = "local"

    def __init__(self, directory: Path, *, pattern: str = "*") -> None:
        self.directory = Path(directory)
        self.pattern = pattern

    def list_files(self) -> list[RemoteFile]:
        if not self.directory.is_dir():
            raise FetchError(f"{self.directory}: source folder does not exist")
        files = []
        for path in sorted(self.directory.iterdir()):
            if path.name.startswith(".") or not fnmatch.fnmatch(path.name, self.pattern):
                continue
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):  # never followed; --filename NAME records a rejection
                log.warning("local.entry_refused", name=path.name, kind=entry_kind(info.st_mode))
                continue
            files.append(RemoteFile(path.name, info.st_size, datetime.fromtimestamp(info.st_mtime, tz=UTC)))
        return files

    def fetch(self, name: str, dest_dir: Path) -> Path:
        source = self.directory / name
        if Path(name).name != name:
            raise FetchError(f"{source}: no such file in the source folder")
        fd = open_regular(source)
        dest_dir.mkdir(parents=True, exist_ok=True)
        partial = dest_dir / f".{name}.partial"
        with os.fdopen(fd, "rb") as src, partial.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        return partial.replace(dest_dir / name)

    def after_success(self, name: str) -> None:
        """Local files are left where they are."""
