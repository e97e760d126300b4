"""S3 source (boto3): same contract as SFTP, for AWS or any S3-compatible store.

Credentials come from the standard AWS chain (``AWS_ACCESS_KEY_ID`` ...,
profiles, instance roles), never from our settings. botocore's own retries
are turned off so that one policy (``RETRY_*``) governs and logs every attempt.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import boto3
import structlog
import urllib3.exceptions
from botocore.config import Config
from botocore.exceptions import (
    ChecksumError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from etl.retry import RetryPolicy, error_line, source_call
from etl.sources.base import (
    AFTER_SUCCESS_ACTIONS,
    AuthenticationError,
    FetchError,
    IncompleteTransferError,
    PermanentSourceError,
    RemoteFile,
    SourceError,
    check_file_name,
    name_matches,
)

T = TypeVar("T")
logger = structlog.get_logger(__name__)

CHUNK_SIZE = 1024 * 1024

S3_NO_BUCKET_SETTING = "S3: S3_BUCKET is not set"
S3_BAD_ACTION = "SOURCE_AFTER_SUCCESS: expected one of leave, move, delete, got {action!r}"
S3_AUTH_FAILED = "{target}: access refused ({code}); check the AWS credentials and the bucket policy"
S3_NO_CREDENTIALS = "{target}: no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
S3_NO_SUCH_BUCKET = "{target}: bucket {bucket!r} does not exist"
S3_NOT_FOUND = "{target}{name}: no such object"
INCOMPLETE_DOWNLOAD = "{name}: incomplete download: received {received} of {expected} bytes"

AUTH_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "AuthorizationHeaderMalformed",
    "403",
}
NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
TRANSIENT_CODES = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "PreconditionFailed"}


@dataclass(frozen=True)
class S3Config:
    bucket: str
    prefix: str = ""
    """The drop folder: keys directly under it are the partner's files."""
    endpoint_url: str = ""
    """For S3-compatible stores (MinIO, Ceph, moto); empty for AWS."""
    pattern: str = "*"
    """Comma-separated globs of the file names to list."""
    after_success: str = "leave"
    """``leave``, ``move`` (under ``<prefix><processed_dir>/``) or ``delete`` once loaded."""
    processed_dir: str = "processed"
    timeout: float = 30.0
    """Seconds for connecting and for each read."""

    @classmethod
    def from_settings(cls) -> S3Config:
        from django.conf import settings

        return cls(
            bucket=settings.S3_BUCKET,
            prefix=settings.S3_PREFIX,
            endpoint_url=settings.S3_ENDPOINT_URL,
            pattern=settings.SOURCE_PATTERN,
            after_success=settings.SOURCE_AFTER_SUCCESS,
            processed_dir=settings.SOURCE_PROCESSED_DIR,
            timeout=settings.SOURCE_TIMEOUT,
        )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def is_transient(error: BaseException) -> bool:
    """Network trouble, throttling, server errors and cut transfers; never refusals."""
    if isinstance(error, PermanentSourceError | FetchError):
        return False
    if isinstance(error, ClientError):
        return _code(error) in TRANSIENT_CODES or _status(error) >= 500
    return isinstance(
        error,
        IncompleteTransferError
        | BotoConnectionError
        | HTTPClientError
        | IncompleteReadError
        | ChecksumError
        | urllib3.exceptions.HTTPError
        | OSError,
    )


class S3Source:
    kind = "s3"

    def __init__(self, config: S3Config, *, policy: RetryPolicy | None = None) -> None:
        if not config.bucket:
            raise SourceError(S3_NO_BUCKET_SETTING)
        if config.after_success not in AFTER_SUCCESS_ACTIONS:
            raise SourceError(S3_BAD_ACTION.format(action=config.after_success))
        prefix = config.prefix.lstrip("/")
        self.prefix = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
        self.config = config
        self.policy = policy
        self.target = f"s3://{config.bucket}/{self.prefix}"
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=config.endpoint_url or None,
            config=Config(
                connect_timeout=config.timeout,
                read_timeout=config.timeout,
                retries={"total_max_attempts": 1, "mode": "standard"},
                s3={"addressing_style": "path"} if config.endpoint_url else None,
            ),
        )

    # --- the Source interface -------------------------------------------------

    def list_files(self) -> list[RemoteFile]:
        def list_once() -> list[RemoteFile]:
            files = []
            paginator = self.client.get_paginator("list_objects_v2")
            # Delimiter "/": the drop folder only, not processed/ or other subfolders.
            for page in paginator.paginate(Bucket=self.config.bucket, Prefix=self.prefix, Delimiter="/"):
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(self.prefix) :]
                    if name and name_matches(name, self.config.pattern):
                        files.append(RemoteFile(name, int(obj["Size"]), obj["LastModified"]))
            # Oldest first: a partner's later file must be loaded after its earlier one.
            return sorted(files, key=lambda f: (f.modified or datetime.min.replace(tzinfo=UTC), f.name))

        return self._retry(list_once, operation="list")

    def fetch(self, name: str, dest_dir: Path) -> Path:
        check_file_name(name)
        dest_dir.mkdir(parents=True, exist_ok=True)
        path = self._retry(lambda: self._download(name, dest_dir), operation=f"download {name}")
        logger.info("s3.fetched", target=self.target, file=name, size=path.stat().st_size)
        return path

    def after_success(self, name: str) -> None:
        check_file_name(name)
        action = self.config.after_success
        if action == "leave":
            return
        self._retry(lambda: self._after_success_once(name, action), operation=f"{action} {name}")
        logger.info("s3.after_success", target=self.target, file=name, action=action)

    # --- internals --------------------------------------------------------------

    def _retry(self, fn: Callable[[], T], *, operation: str) -> T:
        def attempt() -> T:
            try:
                return fn()
            except (NoCredentialsError, PartialCredentialsError):
                raise AuthenticationError(S3_NO_CREDENTIALS.format(target=self.target)) from None
            except ClientError as exc:
                code = _code(exc)
                if code in AUTH_CODES:
                    raise AuthenticationError(S3_AUTH_FAILED.format(target=self.target, code=code)) from exc
                if code == "NoSuchBucket":
                    raise SourceError(
                        S3_NO_SUCH_BUCKET.format(target=self.target, bucket=self.config.bucket)
                    ) from exc
                raise

        return source_call(
            attempt, operation=operation, target=self.target, retryable=is_transient, policy=self.policy
        )

    def _download(self, name: str, dest_dir: Path) -> Path:
        key = f"{self.prefix}{name}"
        try:
            head = self.client.head_object(Bucket=self.config.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in NOT_FOUND_CODES:
                raise FetchError(S3_NOT_FOUND.format(target=self.target, name=name)) from None
            raise
        expected = int(head["ContentLength"])
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=dest_dir)
        tmp = Path(tmp_name)
        try:
            # IfMatch: the bytes we get are the object we sized, even if the partner re-uploads.
            body = self.client.get_object(Bucket=self.config.bucket, Key=key, IfMatch=head["ETag"])["Body"]
            with os.fdopen(fd, "wb") as out:
                try:
                    for chunk in body.iter_chunks(CHUNK_SIZE):
                        out.write(chunk)
                finally:
                    body.close()
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

    def _after_success_once(self, name: str, action: str) -> None:
        key = f"{self.prefix}{name}"
        if action == "move":
            destination = f"{self.prefix}{self.config.processed_dir.strip('/')}/{name}"
            try:
                self.client.copy_object(
                    Bucket=self.config.bucket,
                    Key=destination,
                    CopySource={"Bucket": self.config.bucket, "Key": key},
                )
            except ClientError as exc:
                if _code(exc) not in NOT_FOUND_CODES:  # gone: moved by an earlier attempt
                    raise
                logger.info("s3.already_moved", target=self.target, file=name, error=error_line(exc))
        # S3 deletes are idempotent: a key that is already gone is not an error.
        self.client.delete_object(Bucket=self.config.bucket, Key=key)


def s3_source() -> S3Source:
    """The S3 source configured by the ``S3_*`` and ``SOURCE_*`` settings and the AWS variables."""
    return S3Source(S3Config.from_settings())
