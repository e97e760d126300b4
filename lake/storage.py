"""The lake's file system: a local folder or an S3 bucket, behind pyarrow.fs.

Paths handed around are "lake paths" relative to ``LAKE_URI`` (``raw/ab/...``);
:func:`lake_fs` resolves them to the file system and its own path syntax.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from pyarrow import fs

from lake.config import LakeConfig


@dataclass(frozen=True)
class LakeFS:
    filesystem: fs.FileSystem
    root: str
    """Root in the file system's own syntax (``/abs/folder`` or ``bucket/prefix``)."""
    uri: str

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}" if relative else self.root

    def exists(self, relative: str) -> bool:
        return self.filesystem.get_file_info(self.path(relative)).type != fs.FileType.NotFound

    def size(self, relative: str) -> int | None:
        info = self.filesystem.get_file_info(self.path(relative))
        return None if info.type == fs.FileType.NotFound else info.size

    def read_bytes(self, relative: str) -> bytes:
        with self.filesystem.open_input_stream(self.path(relative)) as stream:
            return bytes(stream.read())

    def write_bytes(self, relative: str, data: bytes) -> None:
        self.filesystem.create_dir(self.path(relative.rsplit("/", 1)[0]), recursive=True)
        with self.filesystem.open_output_stream(self.path(relative)) as out:
            out.write(data)

    def move(self, src: str, dest: str) -> None:
        self.filesystem.move(self.path(src), self.path(dest))

    def list(self, relative: str) -> list[str]:
        """Lake paths of the files under ``relative`` (recursively), sorted."""
        selector = fs.FileSelector(self.path(relative), recursive=True, allow_not_found=True)
        prefix = len(self.root) + 1
        return sorted(
            info.path[prefix:]
            for info in self.filesystem.get_file_info(selector)
            if info.type == fs.FileType.File
        )


def s3_filesystem(config: LakeConfig) -> fs.S3FileSystem:
    return _s3_filesystem(tuple(sorted(config.s3.items())))


@functools.lru_cache(maxsize=8)
def _s3_filesystem(settings: tuple[tuple[str, str], ...]) -> fs.S3FileSystem:
    # One client per configuration and process: setting up the AWS SDK client is slow.
    s3 = dict(settings)
    kwargs: dict[str, Any] = {"region": s3.get("region") or "us-east-1"}
    if s3.get("endpoint"):
        endpoint = urlparse(s3["endpoint"])
        kwargs["endpoint_override"] = endpoint.netloc or endpoint.path
        kwargs["scheme"] = endpoint.scheme or "https"
    if s3.get("access_key_id"):
        kwargs["access_key"] = s3["access_key_id"]
        kwargs["secret_key"] = s3.get("secret_access_key", "")
        if s3.get("session_token"):
            kwargs["session_token"] = s3["session_token"]
    return fs.S3FileSystem(**kwargs)


def lake_fs(config: LakeConfig) -> LakeFS:
    if config.is_s3:
        return LakeFS(filesystem=s3_filesystem(config), root=config.uri[len("s3://") :], uri=config.uri)
    return LakeFS(filesystem=fs.LocalFileSystem(), root=config.uri, uri=config.uri)
