"""A local folder as a source (the default: ``scripts/downloads/``)."""

from __future__ import annotations

import fnmatch
import shutil
from datetime import UTC, datetime
from pathlib import Path

from etl.sources.base import FetchError, RemoteFile


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
            if path.is_file() and not path.name.startswith(".") and fnmatch.fnmatch(path.name, self.pattern):
                stat = path.stat()
                files.append(
                    RemoteFile(path.name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, tz=UTC))
                )
        return files

    def fetch(self, name: str, dest_dir: Path) -> Path:
        source = self.directory / name
        if Path(name).name != name or not source.is_file():
            raise FetchError(f"{source}: no such file in the source folder")
        dest_dir.mkdir(parents=True, exist_ok=True)
        partial = dest_dir / f".{name}.partial"
        shutil.copyfile(source, partial)
        return partial.replace(dest_dir / name)

    def after_success(self, name: str) -> None:
        """Local files are left where they are."""
