"""Each ingest fetches into a work folder of its own, removed when it ends or by the next ingest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataflow.sources import LocalSource
from ingestion.fetch_folders import FETCH_DIR, fetch_folder, leftovers_drop
from ingestion.pipeline import ingest_file
from testsupport.ingest import SAMPLE, inbox_with, options_for

HOLDER = """
import sys, time
from pathlib import Path
from ingestion.fetch_folders import fetch_folder
with fetch_folder(Path(sys.argv[1])) as folder:
    print(folder, flush=True)
    time.sleep(600)
"""


class RecordingSource(LocalSource):
    """A local source that remembers where each fetch wrote its copy, and what was there then."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.fetched: list[Path] = []

    def fetch(self, name: str, dest_dir: Path) -> Path:
        path = super().fetch(name, dest_dir)
        self.fetched.append(path)
        return path


def holder(work: Path) -> tuple[subprocess.Popen[str], Path]:
    """A process inside ``fetch_folder(work)``, and its folder."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(work)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    return child, Path(child.stdout.readline().strip())


@pytest.mark.django_db
def test_two_ingests_of_one_name_fetch_into_folders_of_their_own_removed_after(tmp_path: Path) -> None:
    source = RecordingSource(inbox_with(tmp_path, SAMPLE).directory)
    options = options_for(tmp_path)
    for _ in range(2):
        ingest_file(source=source, name=SAMPLE.name, options=options, hooks=[])
    first, second = source.fetched
    assert first.name == second.name == SAMPLE.name
    assert first.parent != second.parent  # a concurrent ingest never shares (or replaces) the copy
    assert not first.exists()
    assert not second.exists()
    assert os.listdir(tmp_path / "work" / FETCH_DIR) == []


def test_folders_in_use_are_distinct_and_kept_by_the_sweep(tmp_path: Path) -> None:
    with fetch_folder(tmp_path) as one, fetch_folder(tmp_path) as two:
        assert one != two
        assert one.is_dir()
        assert two.is_dir()
        assert leftovers_drop(tmp_path / FETCH_DIR) == []
    assert not one.exists()
    assert not two.exists()


def test_a_killed_ingests_folder_is_removed_by_the_next_one_a_live_ones_is_not(tmp_path: Path) -> None:
    live, live_folder = holder(tmp_path)
    killed, killed_folder = holder(tmp_path)
    try:
        (killed_folder / "customers.csv").write_text("a copy\n")
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
        assert killed_folder.exists()  # nothing ran on SIGKILL
        with fetch_folder(tmp_path) as mine:
            assert not killed_folder.exists()
            assert live_folder.exists()
            assert mine.exists()
    finally:
        live.kill()
        live.wait(timeout=30)


def test_a_stale_staging_folder_is_removed_a_fresh_one_is_not(tmp_path: Path) -> None:
    root = tmp_path / FETCH_DIR
    stale, fresh = root / ".new-stale", root / ".new-fresh"
    stale.mkdir(parents=True)
    fresh.mkdir()
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    assert leftovers_drop(root) == [".new-stale"]
    assert fresh.exists()
