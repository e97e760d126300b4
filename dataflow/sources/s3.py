"""S3 source (boto3): same contract as SFTP, for AWS or any S3-compatible store.

Credentials come from the standard AWS chain (``AWS_ACCESS_KEY_ID`` ...,
profiles, instance roles), never from our settings. botocore's own retries
are turned off so that one policy (``RETRY_*``) governs and logs every attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

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

from common.errors import error_line
from dataflow.retry import RetryPolicy
from dataflow.sources.base import (
    AuthenticationError,
    FetchError,
    IncompleteTransferError,
    PermanentSourceError,
    RemoteFile,
    SourceError,
    name_matches,
)
from dataflow.sources.remote import RemoteConfig, RemoteSource, download_to_temp

T = TypeVar("T")
logger = structlog.get_logger("etl.sources.s3")  # its name before the move (#17): log filters use it

CHUNK_SIZE = 1024 * 1024

S3_NO_BUCKET_SETTING = "S3: S3_BUCKET is not set"
S3_AUTH_FAILED = "{target}: access refused ({code}); check the AWS credentials and the bucket policy"
S3_NO_CREDENTIALS = "{target}: no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
S3_NO_SUCH_BUCKET = "{target}: bucket {bucket!r} does not exist"
S3_NOT_FOUND = "{target}{name}: no such object"

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
class S3Config(RemoteConfig):
    """The bucket and its drop folder; ``move`` puts loaded files under ``<prefix><processed_dir>/``."""

    bucket: str
    prefix: str = ""
    """The drop folder: keys directly under it are the partner's files."""
    endpoint_url: str = ""
    """For S3-compatible stores (MinIO, Ceph, moto); empty for AWS."""

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


class S3Source(RemoteSource):
    kind = "s3"
    logger = logger
    config: S3Config

    def __init__(self, config: S3Config, *, policy: RetryPolicy | None = None) -> None:
        if not config.bucket:
            raise SourceError(S3_NO_BUCKET_SETTING)
        prefix = config.prefix.lstrip("/")
        self.prefix = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
        super().__init__(config, target=f"s3://{config.bucket}/{self.prefix}", policy=policy)
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

    def is_transient(self, error: BaseException) -> bool:
        return is_transient(error)

    def _attempt(self, fn: Callable[[], T]) -> T:
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

    def _list_once(self) -> list[RemoteFile]:
        files = []
        paginator = self.client.get_paginator("list_objects_v2")
        # Delimiter "/": the drop folder only, not processed/ or other subfolders.
        for page in paginator.paginate(Bucket=self.config.bucket, Prefix=self.prefix, Delimiter="/"):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix) :]
                if name and name_matches(name, self.config.pattern):
                    files.append(RemoteFile(name, int(obj["Size"]), obj["LastModified"]))
        return files

    def _download(self, name: str, dest_dir: Path) -> Path:
        key = f"{self.prefix}{name}"
        try:
            head = self.client.head_object(Bucket=self.config.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in NOT_FOUND_CODES:
                raise FetchError(S3_NOT_FOUND.format(target=self.target, name=name)) from None
            raise
        expected = int(head["ContentLength"])

        def write(out: IO[bytes]) -> None:
            # IfMatch: the bytes we get are the object we sized, even if the partner re-uploads.
            body = self.client.get_object(Bucket=self.config.bucket, Key=key, IfMatch=head["ETag"])["Body"]
            try:
                for chunk in body.iter_chunks(CHUNK_SIZE):
                    out.write(chunk)
            finally:
                body.close()

        return download_to_temp(name=name, dest_dir=dest_dir, expected=expected, write=write)

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
