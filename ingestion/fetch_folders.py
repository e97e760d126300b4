"""A work folder of its own for each ingest's fetched copy (``INGEST_WORK_DIR/fetch/<id>/``).

Two ingests of the same file name (two concurrent ``ingest --filename``, a poll
and a manual run, two workers) used to fetch into the same ``work/NAME``: one's
rename could find the other's temporary file gone, or replace the copy the other
was reading (its checksum, its load and its raw-zone copy could then be of two
different versions). Each ingest now fetches into a folder of its own and removes
it when it ends.

An ingest killed mid-way (SIGKILL, a lost machine) cannot remove its folder, so
each holds an exclusive ``flock`` on ``.lock`` inside it for its whole life; the
next ingest removes the folders whose lock it can take (their owner is gone).
The lock is taken before the folder gets its final name, so no folder is ever
visible unlocked while its owner lives.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import structlog

log = structlog.get_logger("etl.ingest")

FETCH_DIR = "fetch"
LOCKFILE = ".lock"
STAGING_PREFIX = ".new-"
STAGING_MAX_AGE_SECONDS = 3600.0
"""A staging folder lives for two system calls; one this old was left by a killed process."""


def _owner_gone(folder: Path) -> bool:
    """Nobody holds ``folder``'s lock (its ingest ended without removing it)."""
    try:
        fd = os.open(folder / LOCKFILE, os.O_RDWR)
    except FileNotFoundError:
        return False  # not one of ours: left alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also releases the lock, if it was taken
    return True


def leftovers_drop(root: Path) -> list[str]:
    """Remove the fetch folders of ingests that were killed; their names."""
    dropped = []
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if not entry.is_dir() or entry.is_symlink():
            continue
        if entry.name.startswith(STAGING_PREFIX):
            stale = time.time() - entry.stat().st_mtime > STAGING_MAX_AGE_SECONDS
        else:
            stale = _owner_gone(entry)
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            dropped.append(entry.name)
    if dropped:
        log.warning("ingest.fetch_leftovers_removed", folders=dropped)
    return dropped


@contextlib.contextmanager
def fetch_folder(work_dir: Path) -> Iterator[Path]:
    """An empty folder under ``work_dir/fetch`` held by this ingest until the block ends, then removed."""
    root = Path(work_dir) / FETCH_DIR
    root.mkdir(parents=True, exist_ok=True)
    leftovers_drop(root)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    fd = os.open(staging / LOCKFILE, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    folder = root / uuid.uuid4().hex
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        staging.rename(folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        os.close(fd)
