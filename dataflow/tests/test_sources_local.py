"""The local folder source reads regular files only: a symbolic link, a folder or a pipe is refused."""

from __future__ import annotations

import os
import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dataflow.sources.base import RefusedFileError
from dataflow.sources.local import NOT_REGULAR, LocalSource
from ingestion.management.commands.ingest import EXIT_REJECTED
from ingestion.models import IngestionRun, RunStatus
from testsupport.ingest import SAMPLE

SECRET = "root:x:0:0:this file must never reach the lake\n"


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    shutil.copyfile(SAMPLE, folder / SAMPLE.name)
    outside = tmp_path / "passwd"
    outside.write_text(SECRET)
    (folder / "customers-link.csv").symlink_to(outside)
    (folder / "folder.csv").mkdir()
    os.mkfifo(folder / "pipe.csv")
    return folder


def test_listing_shows_only_regular_files(drop: Path) -> None:
    assert [f.name for f in LocalSource(drop).list_files()] == [SAMPLE.name]


@pytest.mark.parametrize(
    ("name", "kind"),
    [("customers-link.csv", "a symbolic link"), ("folder.csv", "a folder"), ("pipe.csv", "a named pipe")],
)
def test_fetch_refuses_anything_but_a_regular_file_and_copies_nothing(
    drop: Path, tmp_path: Path, name: str, kind: str
) -> None:
    work = tmp_path / "work"
    with pytest.raises(RefusedFileError, match="not a regular file") as excinfo:
        LocalSource(drop).fetch(name, work)
    assert str(excinfo.value) == NOT_REGULAR.format(kind=kind)
    assert not work.exists() or not any(work.iterdir())


@pytest.fixture
def ingest_settings(settings: Any, drop: Path, tmp_path: Path) -> Any:
    settings.INGEST_LOCAL_DIR = drop
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.INGEST_SOURCE = "local"
    return settings


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["--filename", "--path"])
def test_ingest_of_a_symbolic_link_is_a_rejected_run_with_one_line(
    ingest_settings: Any, drop: Path, tmp_path: Path, how: str
) -> None:
    target = "customers-link.csv" if how == "--filename" else str(drop / "customers-link.csv")
    with pytest.raises(CommandError) as excinfo:
        call_command("ingest", how, target, stdout=StringIO(), stderr=StringIO())
    assert str(excinfo.value) == f"customers-link.csv: rejected: {NOT_REGULAR.format(kind='a symbolic link')}"
    assert excinfo.value.returncode == EXIT_REJECTED
    run = IngestionRun.objects.get()
    assert (run.status, run.filename, run.sha256) == (RunStatus.REJECTED, "customers-link.csv", "")
    work = tmp_path / "work"
    assert not work.exists() or not any(
        p.read_text(errors="replace") == SECRET for p in work.rglob("*") if p.is_file()
    )
