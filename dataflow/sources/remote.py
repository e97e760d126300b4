"""What the SFTP and S3 sources share: settings, after-success actions, retries, downloads to a temp name.

A remote source lists the drop folder (oldest first), fetches a file to a
temporary name that becomes the real one only once every byte arrived, and
does its after-success action (leave, move, delete) once the file loaded.
Every call is retried under one policy (:class:`dataflow.retry.RetryPolicy`): a
transient error that outlives the attempts becomes one
:class:`~dataflow.sources.base.FetchError` line (:data:`RETRIES_EXHAUSTED`); a refusal
(credentials, host key) is raised at once. A transport only says how to list,
download, and act on one file, and which of its errors are transient.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar, TypeVar

from common.errors import error_line
from dataflow.retry import RetryPolicy, call_with_retry
from dataflow.sources.base import (
    AFTER_SUCCESS_ACTIONS,
    FetchError,
    IncompleteTransferError,
    RemoteFile,
    SourceError,
    check_file_name,
)

T = TypeVar("T")

RETRIES_EXHAUSTED = "{target}: {operation} failed after {attempts} attempts: {error}"
"""The one-line error of a transfer that failed on every attempt."""
BAD_ACTION = "SOURCE_AFTER_SUCCESS: expected one of leave, move, delete, got {action!r}"
INCOMPLETE_DOWNLOAD = "{name}: incomplete download: received {received} of {expected} bytes"


@dataclass(frozen=True, kw_only=True)
class RemoteConfig:
    """The settings every remote source has (``SOURCE_*``)."""

    pattern: str = "*"
    """Comma-separated globs of the file names to list."""
    after_success: str = "leave"
    """``leave``, ``move`` (into ``processed_dir`` of the drop folder) or ``delete`` once loaded."""
    processed_dir: str = "processed"
    """Where ``move`` puts loaded files, relative to the drop folder."""
    timeout: float = 30.0
    """Seconds for connecting and for each network read."""


def source_call(
    fn: Callable[[], T],
    *,
    operation: str,
    target: str,
    retryable: Callable[[BaseException], bool],
    policy: RetryPolicy | None = None,
) -> T:
    """:func:`dataflow.retry.call_with_retry` for a source: a transient error that outlives every
    attempt becomes one :class:`~dataflow.sources.base.FetchError` line (:data:`RETRIES_EXHAUSTED`)."""
    policy = policy or RetryPolicy.from_settings()
    try:
        return call_with_retry(fn, operation=operation, target=target, retryable=retryable, policy=policy)
    except Exception as exc:
        if retryable(exc):
            raise FetchError(
                RETRIES_EXHAUSTED.format(
                    target=target, operation=operation, attempts=policy.attempts, error=error_line(exc)
                )
            ) from exc
        raise


def download_to_temp(*, name: str, dest_dir: Path, expected: int, write: Callable[[IO[bytes]], None]) -> Path:
    """``dest_dir / name``, written by ``write`` under a temporary name that becomes the real one
    only when ``expected`` bytes arrived (else :class:`IncompleteTransferError`, nothing left behind)."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=dest_dir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            received = out.tell()
            out.flush()
            os.fsync(out.fileno())
        if received != expected:
            raise IncompleteTransferError(
                INCOMPLETE_DOWNLOAD.format(name=name, received=received, expected=expected)
            )
        # The final name appears only for a complete file.
        return tmp.replace(dest_dir / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class RemoteSource:
    """The :class:`~dataflow.sources.base.Source` interface over a transport's four methods."""

    kind: str
    """Short name recorded on the run (``sftp``, ``s3``)."""
    logger: ClassVar[Any]
    """The transport module's logger (its name is part of every log line)."""
    config: RemoteConfig

    def __init__(self, config: RemoteConfig, *, target: str, policy: RetryPolicy | None) -> None:
        if config.after_success not in AFTER_SUCCESS_ACTIONS:
            raise SourceError(BAD_ACTION.format(action=config.after_success))
        self.config = config
        self.target = target
        """What is being reached, for messages and logs (never a secret)."""
        self.policy = policy

    # --- the Source interface -------------------------------------------------

    def list_files(self) -> list[RemoteFile]:
        files = self._retry(self._list_once, operation="list")
        # Oldest first: a partner's later file must be loaded after its earlier one.
        return sorted(files, key=lambda f: (f.modified or datetime.min.replace(tzinfo=UTC), f.name))

    def fetch(self, name: str, dest_dir: Path) -> Path:
        check_file_name(name)
        dest_dir.mkdir(parents=True, exist_ok=True)
        path = self._retry(lambda: self._download(name, dest_dir), operation=f"download {name}")
        self.logger.info(f"{self.kind}.fetched", target=self.target, file=name, size=path.stat().st_size)
        return path

    def after_success(self, name: str) -> None:
        check_file_name(name)
        action = self.config.after_success
        if action == "leave":
            return
        self._retry(lambda: self._after_success_once(name, action), operation=f"{action} {name}")
        self.logger.info(f"{self.kind}.after_success", target=self.target, file=name, action=action)

    # --- what a transport provides ---------------------------------------------

    def is_transient(self, error: BaseException) -> bool:
        """Whether another attempt may succeed (network trouble, a cut transfer; never a refusal)."""
        raise NotImplementedError

    def _attempt(self, fn: Callable[[], T]) -> T:
        """One attempt of ``fn``: a transport may turn its own errors into the sources' here."""
        return fn()

    def _list_once(self) -> list[RemoteFile]:
        raise NotImplementedError

    def _download(self, name: str, dest_dir: Path) -> Path:
        raise NotImplementedError

    def _after_success_once(self, name: str, action: str) -> None:
        raise NotImplementedError

    def _retry(self, fn: Callable[[], T], *, operation: str) -> T:
        return source_call(
            lambda: self._attempt(fn),
            operation=operation,
            target=self.target,
            retryable=self.is_transient,
            policy=self.policy,
        )
