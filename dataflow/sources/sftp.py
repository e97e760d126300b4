"""SFTP source (paramiko): verified host key, retried transfers, never a partial file.

Trust is explicit: the server's host key must be in ``SFTP_KNOWN_HOSTS`` or
match the pinned ``SFTP_HOST_KEY_FINGERPRINT``; anything else refuses the
connection (no auto-accept, no trust-on-first-use). Each operation (list,
download, after-success action) opens its own connection, so a retry always
starts from a clean session.
"""

from __future__ import annotations

import contextlib
import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import paramiko
import structlog

from dataflow.retry import RetryPolicy
from dataflow.sources.base import (
    AuthenticationError,
    FetchError,
    HostKeyError,
    IncompleteTransferError,
    PermanentSourceError,
    RemoteFile,
    SourceError,
    name_matches,
)
from dataflow.sources.remote import RemoteConfig, RemoteSource, download_to_temp

logger = structlog.get_logger("etl.sources.sftp")  # its name before the move (#17): log filters use it

CHUNK_SIZE = 256 * 1024

SFTP_SETTING_MISSING = "SFTP: {setting} is not set"
SFTP_NO_CREDENTIALS = "SFTP: set SFTP_PASSWORD or SFTP_KEY_PATH"
SFTP_NO_HOST_TRUST = (
    "SFTP: set SFTP_KNOWN_HOSTS or SFTP_HOST_KEY_FINGERPRINT (the server's host key is always verified)"
)
SFTP_BAD_FINGERPRINT = "SFTP_HOST_KEY_FINGERPRINT: expected 'SHA256:<base64>' as printed by ssh-keygen -lf"
SFTP_KNOWN_HOSTS_UNREADABLE = "{path}: cannot read SFTP_KNOWN_HOSTS: {error}"
HOST_KEY_UNKNOWN = (
    "{target}: host key {fingerprint} ({key_type}) is not trusted; refusing to connect "
    "(add it to SFTP_KNOWN_HOSTS or set SFTP_HOST_KEY_FINGERPRINT)"
)
HOST_KEY_CHANGED = (
    "{target}: host key CHANGED: the server offers {fingerprint} ({key_type}) but {expected} is trusted; "
    "refusing to connect"
)
AUTH_FAILED = "{target}: authentication failed for user {username!r}"
KEY_UNREADABLE = "{path}: cannot load the SFTP private key (wrong SFTP_KEY_PASSPHRASE?): {error}"
REMOTE_NOT_FOUND = "{target}/{name}: no such file on the server"
REMOTE_NOT_A_FILE = "{target}/{name}: not a regular file"


@dataclass(frozen=True)
class SftpConfig(RemoteConfig):
    """Where and how to connect; secrets are kept out of ``repr`` so they never reach a log."""

    host: str
    username: str
    port: int = 22
    password: str = field(default="", repr=False)
    """Password authentication (or use ``key_path``)."""
    key_path: str = ""
    """Private key file (OpenSSH format) for key authentication."""
    key_passphrase: str = field(default="", repr=False)
    """Passphrase of ``key_path``, when it is encrypted."""
    remote_dir: str = "."
    """Folder the partner drops files into."""
    known_hosts: str = ""
    """OpenSSH known_hosts file holding the server's key (``[host]:port`` for non-22 ports)."""
    host_key_fingerprint: str = ""
    """Pinned ``SHA256:...`` fingerprint, an alternative to ``known_hosts``."""

    @classmethod
    def from_settings(cls) -> SftpConfig:
        from django.conf import settings

        return cls(
            host=settings.SFTP_HOST,
            port=settings.SFTP_PORT,
            username=settings.SFTP_USERNAME,
            password=settings.SFTP_PASSWORD,
            key_path=settings.SFTP_KEY_PATH,
            key_passphrase=settings.SFTP_KEY_PASSPHRASE,
            remote_dir=settings.SFTP_REMOTE_DIR,
            known_hosts=settings.SFTP_KNOWN_HOSTS,
            host_key_fingerprint=settings.SFTP_HOST_KEY_FINGERPRINT,
            pattern=settings.SOURCE_PATTERN,
            after_success=settings.SOURCE_AFTER_SUCCESS,
            processed_dir=settings.SOURCE_PROCESSED_DIR,
            timeout=settings.SOURCE_TIMEOUT,
        )


def is_transient(error: BaseException) -> bool:
    """Whether another attempt may succeed: network trouble and cut transfers, not refusals."""
    if isinstance(error, PermanentSourceError | FetchError):
        return False
    if isinstance(error, FileNotFoundError | PermissionError):
        return False
    if isinstance(error, paramiko.AuthenticationException | paramiko.BadHostKeyException):
        return False
    return isinstance(error, OSError | EOFError | paramiko.SSHException | IncompleteTransferError)


class _RefuseUnknownKey(paramiko.MissingHostKeyPolicy):
    """Accept a key missing from known_hosts only when it matches the pinned fingerprint."""

    def __init__(self, *, target: str, pinned: str) -> None:
        self.target = target
        self.pinned = pinned

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if self.pinned and key.fingerprint == self.pinned:
            return
        if self.pinned:
            raise HostKeyError(
                HOST_KEY_CHANGED.format(
                    target=self.target,
                    fingerprint=key.fingerprint,
                    key_type=key.get_name(),
                    expected=self.pinned,
                )
            )
        raise HostKeyError(
            HOST_KEY_UNKNOWN.format(target=self.target, fingerprint=key.fingerprint, key_type=key.get_name())
        )


class SftpSource(RemoteSource):
    kind = "sftp"
    logger = logger
    config: SftpConfig

    def __init__(self, config: SftpConfig, *, policy: RetryPolicy | None = None) -> None:
        for setting, value in (("SFTP_HOST", config.host), ("SFTP_USERNAME", config.username)):
            if not value:
                raise SourceError(SFTP_SETTING_MISSING.format(setting=setting))
        if not (config.password or config.key_path):
            raise SourceError(SFTP_NO_CREDENTIALS)
        if not (config.known_hosts or config.host_key_fingerprint):
            raise SourceError(SFTP_NO_HOST_TRUST)
        if config.host_key_fingerprint and not config.host_key_fingerprint.startswith("SHA256:"):
            raise SourceError(SFTP_BAD_FINGERPRINT)
        target = f"sftp://{config.username}@{config.host}:{config.port}/{config.remote_dir.strip('/')}"
        super().__init__(config, target=target, policy=policy)

    def is_transient(self, error: BaseException) -> bool:
        return is_transient(error)

    def _list_once(self) -> list[RemoteFile]:
        with self._session() as sftp:
            entries = sftp.listdir_attr(self.config.remote_dir)
        return [
            RemoteFile(
                entry.filename,
                entry.st_size,
                datetime.fromtimestamp(entry.st_mtime, tz=UTC) if entry.st_mtime is not None else None,
            )
            for entry in entries
            if entry.st_mode is not None
            and stat.S_ISREG(entry.st_mode)
            and name_matches(entry.filename, self.config.pattern)
        ]

    def _private_key(self) -> paramiko.PKey | None:
        if not self.config.key_path:
            return None
        try:
            passphrase = self.config.key_passphrase.encode() if self.config.key_passphrase else None
            # The stubs say str; cryptography (under paramiko) needs bytes.
            return paramiko.PKey.from_path(self.config.key_path, passphrase)  # type: ignore[arg-type]
        except (OSError, paramiko.SSHException, ValueError) as exc:
            raise AuthenticationError(KEY_UNREADABLE.format(path=self.config.key_path, error=exc)) from exc

    @contextmanager
    def _session(self) -> Iterator[paramiko.SFTPClient]:
        config = self.config
        client = paramiko.SSHClient()
        try:
            if config.known_hosts:
                try:
                    client.load_host_keys(config.known_hosts)
                except OSError as exc:
                    raise SourceError(
                        SFTP_KNOWN_HOSTS_UNREADABLE.format(path=config.known_hosts, error=exc)
                    ) from exc
            client.set_missing_host_key_policy(
                _RefuseUnknownKey(target=self.target, pinned=config.host_key_fingerprint)
            )
            try:
                client.connect(
                    config.host,
                    port=config.port,
                    username=config.username,
                    password=config.password or None,
                    pkey=self._private_key(),
                    look_for_keys=False,
                    allow_agent=False,
                    timeout=config.timeout,
                    banner_timeout=config.timeout,
                    auth_timeout=config.timeout,
                    channel_timeout=config.timeout,
                )
            except paramiko.BadHostKeyException as exc:
                raise HostKeyError(
                    HOST_KEY_CHANGED.format(
                        target=self.target,
                        fingerprint=exc.key.fingerprint,
                        key_type=exc.key.get_name(),
                        expected=exc.expected_key.fingerprint,
                    )
                ) from None
            except paramiko.AuthenticationException:
                # `from None`: paramiko's chain adds nothing and must not carry the password.
                raise AuthenticationError(
                    AUTH_FAILED.format(target=self.target, username=config.username)
                ) from None
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(config.timeout)  # type: ignore[union-attr]
            try:
                yield sftp
            finally:
                sftp.close()
        finally:
            client.close()

    def _download(self, name: str, dest_dir: Path) -> Path:
        remote = posixpath.join(self.config.remote_dir, name)
        with self._session() as sftp:
            try:
                attrs = sftp.stat(remote)
            except FileNotFoundError:
                raise FetchError(REMOTE_NOT_FOUND.format(target=self.target, name=name)) from None
            if attrs.st_mode is None or not stat.S_ISREG(attrs.st_mode) or attrs.st_size is None:
                raise FetchError(REMOTE_NOT_A_FILE.format(target=self.target, name=name))
            expected = attrs.st_size

            def write(out: IO[bytes]) -> None:
                with sftp.open(remote, "rb") as remote_file:
                    remote_file.prefetch(expected)
                    while chunk := remote_file.read(CHUNK_SIZE):
                        out.write(chunk)

            return download_to_temp(name=name, dest_dir=dest_dir, expected=expected, write=write)

    def _after_success_once(self, name: str, action: str) -> None:
        remote = posixpath.join(self.config.remote_dir, name)
        with self._session() as sftp:
            if action == "delete":
                # Already gone: an earlier attempt got through before its connection dropped.
                with contextlib.suppress(FileNotFoundError):
                    sftp.remove(remote)
                return
            processed = posixpath.join(self.config.remote_dir, self.config.processed_dir)
            try:
                sftp.stat(processed)
            except FileNotFoundError:
                sftp.mkdir(processed)
            with contextlib.suppress(FileNotFoundError):  # already moved by an earlier attempt
                sftp.posix_rename(remote, posixpath.join(processed, name))


def sftp_source() -> SftpSource:
    """The SFTP source configured by the ``SFTP_*`` and ``SOURCE_*`` settings."""
    return SftpSource(SftpConfig.from_settings())
