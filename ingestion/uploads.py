"""A file uploaded through the API or the admin (issue #15): accepted, queued, ingested by a worker.

:func:`accept_upload` checks the name and the options, copies the bytes into
``UPLOAD_DIR/run-<id>/`` while hashing and counting them, records the run as
``queued`` and defers the ingest task, in one transaction (a run is never queued
without its job, nor a job deferred for a run that was not committed). The worker
(:mod:`ingestion.tasks`) then ingests it like any other source's file: the raw zone
keeps its bytes, the same sha256 loads once (a second upload is ``skipped``).

The task is deferred by name: the web side never imports the pipeline.
"""

from __future__ import annotations

import hashlib
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog
from django.conf import settings
from django.db import transaction
from procrastinate.contrib.django import app

from common.errors import error_brief
from dataflow.quality.batch import quality_setup
from dataflow.schema import load_schema
from ingestion.models import IngestionRun
from ingestion.services import run_queue
from ingestion.upload_jobs import INGEST_UPLOAD_TASK, UPLOAD_SOURCE

log = structlog.get_logger("etl.uploads")

ALLOWED_SUFFIXES = (".csv", ".json")
MAX_NAME_CHARS = 200
MAX_NAME_BYTES = 200
"""In UTF-8: file systems count a name's bytes (255 at most on most), not its characters."""
_CHUNK = 1 << 20

NO_NAME = "the file has no usable name (give it one ending in .csv or .json)"
BAD_SUFFIX = "{name}: only .csv and .json files are accepted"
EMPTY_FILE = "{name}: the file is empty"
TOO_LARGE = "the file is larger than UPLOAD_MAX_BYTES ({limit} bytes)"


class UploadError(ValueError):
    """An upload that cannot be accepted as given (a 400); the message is one line for the uploader."""


class UploadTooLarge(UploadError):
    """More bytes than ``UPLOAD_MAX_BYTES`` (a 413)."""


class UploadedFileLike(Protocol):
    """What is read of an upload: Django's ``UploadedFile`` (memory or temporary file)."""

    name: str | None
    size: int | None

    def chunks(self, chunk_size: int | None = None) -> Any: ...


@dataclass(frozen=True)
class UploadOptions:
    """The ingest command's options an upload may set (same meaning as ``--dry-run`` and the rest)."""

    dry_run: bool = False
    """Read, check and report; change no customer."""
    warn_above: float | None = None
    """Percent of invalid records above which the run warns and alerts (None: the schema's)."""
    reject_above: float | None = None
    """Percent of invalid records above which the file is rejected (None: the schema's)."""


def upload_name(raw: str | None) -> str:
    """The name an upload is stored and recorded under: its last path part, without control or
    format characters, at most :data:`MAX_NAME_CHARS` characters and :data:`MAX_NAME_BYTES` bytes
    (its stem cut, never a character in two); ``.csv`` or ``.json`` only (:class:`UploadError`)."""
    text = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c)[0] not in "CZ" or c == " ")
    text = " ".join(text.split()).lstrip(".- ")
    stem, dot, suffix = text.rpartition(".")
    if not dot or not stem.strip(". "):
        raise UploadError(NO_NAME if not text else BAD_SUFFIX.format(name=text[:MAX_NAME_CHARS]))
    if f".{suffix.lower()}" not in ALLOWED_SUFFIXES:
        raise UploadError(BAD_SUFFIX.format(name=text[:MAX_NAME_CHARS]))
    stem = stem[: MAX_NAME_CHARS - len(suffix) - 1]
    stem = stem.encode()[: MAX_NAME_BYTES - len(suffix) - 1].decode("utf-8", errors="ignore")
    return f"{stem}.{suffix.lower()}"


def upload_options_check(options: UploadOptions) -> None:
    """The thresholds as the ingest command checks them (:class:`UploadError` naming the problem)."""
    try:
        quality_setup(
            schema=load_schema(),
            extra_date_formats=tuple(settings.INGEST_DATE_FORMATS),
            warn_above=options.warn_above,
            reject_above=options.reject_above,
        )
    except ValueError as exc:
        raise UploadError(error_brief(exc)) from exc


def upload_folder(run_id: int) -> Path:
    """Where an accepted upload waits for its worker."""
    return Path(settings.UPLOAD_DIR) / f"run-{run_id}"


def _spool(uploaded_file: UploadedFileLike, *, name: str) -> tuple[Path, str, int]:
    """The bytes copied to a new file under ``UPLOAD_DIR/.incoming``, with their sha256 and size."""
    limit = settings.UPLOAD_MAX_BYTES
    if (uploaded_file.size or 0) > limit:
        raise UploadTooLarge(TOO_LARGE.format(limit=limit))
    incoming = Path(settings.UPLOAD_DIR) / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / uuid.uuid4().hex
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("wb") as out:
            for chunk in uploaded_file.chunks(_CHUNK):
                size += len(chunk)
                if size > limit:  # whatever the upload said of its size
                    raise UploadTooLarge(TOO_LARGE.format(limit=limit))
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadError(EMPTY_FILE.format(name=name))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def accept_upload(uploaded_file: UploadedFileLike, *, options: UploadOptions, user: Any) -> IngestionRun:
    """Accept ``uploaded_file`` for ingest: the ``queued`` run (a worker takes it from there).

    ``user`` is recorded as the run's ``requested_by`` (the caller has checked that they may
    upload: ``etl.upload_file``). Raises :class:`UploadError` (a bad name, option or empty
    file) or :class:`UploadTooLarge`; nothing is kept then.
    """
    name = upload_name(uploaded_file.name)
    upload_options_check(options)
    spooled, sha256, size = _spool(uploaded_file, name=name)
    folder = None
    try:
        with transaction.atomic():
            run = run_queue(
                source=UPLOAD_SOURCE,
                filename=name,
                sha256=sha256,
                size=size,
                dry_run=options.dry_run,
                requested_by=getattr(user, "username", "") or "",
            )
            folder = upload_folder(run.pk)
            folder.mkdir(parents=True, exist_ok=True)
            spooled.replace(folder / name)
            app.configure_task(name=INGEST_UPLOAD_TASK).defer(
                run_id=run.pk, warn_above=options.warn_above, reject_above=options.reject_above
            )
    except BaseException:
        spooled.unlink(missing_ok=True)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    log.info("upload.accepted", run_id=run.pk, file=name, size=size, sha256=sha256, user=run.requested_by)
    return run
