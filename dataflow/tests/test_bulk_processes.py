"""The bulk load against other sessions: a kill -9 before or after its swap, and readers during it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from customers.models import Customer
from dataflow.tests.spark_support import spark_fixture  # noqa: F401  (the shared session: `spark`)
from dataflow.tests.test_bulk import catalog_of_customers, rows_of_customers
from ingestion.models import IngestionRun, RunStatus
from ingestion.pipeline import PAUSE_AFTER_COMMIT_ENV
from testsupport.ingest import HEADER, child_env, customer_lines, ingest, run_of, write_customers

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
TABLE = Customer._meta.db_table
ROWS = 5_000


def wait_for(predicate: Callable[[], bool], *, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def _lock_count(mode: str, *, granted: bool) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE database = (SELECT oid FROM pg_database"
            " WHERE datname = current_database()) AND relation = %s::regclass AND mode = %s AND granted = %s",
            [TABLE, mode, granted],
        )
        return int(cursor.fetchone()[0])


def leftovers() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE 'etl\\_bulk\\_%%'")
        return [row[0] for row in cursor.fetchall()]


def start_ingest(tmp_path: Path, path: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "ingest", "--path", str(path), "--json"],
        cwd=ROOT,
        env=child_env(tmp_path) | {"INGEST_BULK_MIN_ROWS": "10", "LAKE_ENABLED": "false"} | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def reader_holding_the_table() -> Iterator[None]:
    """Another session inside a transaction that read the table: an exclusive lock waits for it."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Customer.objects.exists()
                holding.set()
                release.wait(120)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(30)
        yield
    finally:
        release.set()
        thread.join(30)


def test_a_kill_before_the_swap_leaves_the_old_table_and_the_next_run_loads(
    tmp_path: Path, settings: Any
) -> None:
    path = write_customers(tmp_path / "big.csv", ROWS)
    before = catalog_of_customers()
    with reader_holding_the_table():
        child = start_ingest(tmp_path, path)
        try:
            # Filled and indexed, the new table waits for the swap's lock (the reader holds the table).
            wait_for(
                lambda: _lock_count("AccessExclusiveLock", granted=False) > 0 or child.poll() is not None
            )
            assert child.poll() is None, child.communicate()
            child.kill()  # SIGKILL
            child.wait(30)
        finally:
            if child.poll() is None:
                child.kill()
    wait_for(lambda: _lock_count("ShareRowExclusiveLock", granted=True) == 0)  # its session is gone
    assert not Customer.objects.exists()
    assert catalog_of_customers() == before
    assert leftovers() == []
    killed = IngestionRun.objects.get()
    assert killed.status == RunStatus.RUNNING
    settings.INGEST_BULK_MIN_ROWS, settings.LAKE_ENABLED = 10, False
    again = run_of(ingest(tmp_path / "next", path))
    assert (again.status, again.report["load"]["path"], again.rows_inserted) == ("succeeded", "bulk", ROWS)
    killed.refresh_from_db()
    assert killed.status == RunStatus.FAILED
    assert catalog_of_customers() == before


def test_a_kill_after_the_swap_commits_leaves_the_new_table(tmp_path: Path) -> None:
    path = write_customers(tmp_path / "big.csv", ROWS)
    before = catalog_of_customers()
    marker = tmp_path / "committed"
    child = start_ingest(tmp_path, path, **{PAUSE_AFTER_COMMIT_ENV: str(marker)})
    try:
        wait_for(lambda: marker.exists() or child.poll() is not None)
        assert marker.exists(), child.communicate()
        child.kill()
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    run = IngestionRun.objects.get()
    assert (run.status, run.report["load"]["path"]) == (RunStatus.SUCCEEDED, "bulk")
    assert Customer.objects.count() == ROWS
    assert catalog_of_customers() == before
    assert leftovers() == []


def _reads(stop: threading.Event, latencies: list[float], counts: set[int]) -> None:
    """A page of the API's default kind and the count, every 50 ms, on this thread's connection."""
    try:
        while not stop.is_set():
            started = time.monotonic()
            counts.add(Customer.objects.count())
            list(Customer.objects.order_by("customer_id").values_list("customer_id", flat=True)[:20])
            latencies.append(time.monotonic() - started)
            stop.wait(0.05)
    finally:
        connection.close()


def _long_reads(stop: threading.Event) -> None:
    """Reads of 1.5 s each, back to back: the swap's exclusive lock must slip in between."""
    try:
        with connection.cursor() as cursor:
            while not stop.is_set():
                cursor.execute(f"SELECT count(*) FROM {TABLE}, pg_sleep(1.5)")
                stop.wait(0.05)
    finally:
        connection.close()


def test_reads_go_on_during_a_bulk_load_and_see_all_or_nothing(tmp_path: Path, settings: Any) -> None:
    settings.INGEST_BULK_MIN_ROWS, settings.LAKE_ENABLED = 10, False
    rows = 30_000
    path = write_customers(tmp_path / "big.csv", rows)
    stop = threading.Event()
    latencies: list[float] = []
    counts: set[int] = set()
    threads = [
        threading.Thread(target=_reads, args=(stop, latencies, counts)),
        threading.Thread(target=_long_reads, args=(stop,)),
    ]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(latencies) > 3)
        started = time.monotonic()
        run = run_of(ingest(tmp_path, path))
        seconds = time.monotonic() - started
        wait_for(lambda: rows in counts)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert run.report["load"]["path"] == "bulk"
    assert counts == {0, rows}  # never a part of the file
    assert len(latencies) > seconds / 0.2, (len(latencies), seconds)
    assert max(latencies) < 1.0, sorted(latencies)[-5:]


def _second_waits(tmp_path: Path, second: Path, *, waits_for: str, **env: str) -> list[Any]:
    """A bulk load of ``ROWS`` held at its swap (a reader holds the table) until a second load of
    ``second`` waits for a lock of ``waits_for`` mode; both then go on. Their runs' status and path."""
    first = write_customers(tmp_path / "first.csv", ROWS)
    children: list[subprocess.Popen[str]] = []
    try:
        with reader_holding_the_table():
            children.append(start_ingest(tmp_path / "a", first, **env))
            swap_waits = "AccessExclusiveLock"
            wait_for(lambda: _lock_count(swap_waits, granted=False) > 0 or children[0].poll() is not None)
            children.append(start_ingest(tmp_path / "b", second, **env))
            wait_for(lambda: _lock_count(waits_for, granted=False) > 0 or children[1].poll() is not None)
        outputs = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert [child.returncode for child in children] == [0, 0], outputs
    assert leftovers() == []
    return [(run.status, run.report["load"]) for run in IngestionRun.objects.order_by("pk")]


def test_two_large_loads_into_the_empty_table_at_once_the_second_upserts_after_the_first(
    tmp_path: Path,
) -> None:
    """The second waits for the first's lock holding nothing on the table (it deadlocked: its
    unlocked emptiness check kept a read lock that the first's swap waited for)."""
    second = tmp_path / "second.csv"
    second.write_text("\n".join([HEADER, *customer_lines(ROWS, seed=2, start=ROWS + 1)]) + "\n")
    runs = _second_waits(tmp_path, second, waits_for="ShareRowExclusiveLock")
    assert runs == [
        (RunStatus.SUCCEEDED, {"path": "bulk", "reason": ""}),
        (RunStatus.SUCCEEDED, {"path": "upsert", "reason": "the table is not empty"}),
    ]
    assert Customer.objects.count() == 2 * ROWS


SMALL = "5 records, fewer than INGEST_BULK_MIN_ROWS (10)"


def test_a_small_load_with_the_lake_on_during_a_bulk_load_waits_and_upserts(tmp_path: Path) -> None:
    """The upsert takes its write lock before the lake's hook reads the table (that read's lock,
    held while the upsert waited, deadlocked with the bulk load's swap)."""
    second = tmp_path / "second.csv"
    second.write_text("\n".join([HEADER, *customer_lines(5, seed=2, start=ROWS + 1)]) + "\n")
    lake = {"LAKE_ENABLED": "true", "LAKE_URI": str(tmp_path / "lake"), "LAKE_CATALOG_NAME": "bulk_two"}
    runs = _second_waits(tmp_path, second, waits_for="RowExclusiveLock", **lake)
    assert runs == [
        (RunStatus.SUCCEEDED, {"path": "bulk", "reason": ""}),
        (RunStatus.SUCCEEDED, {"path": "upsert", "reason": SMALL}),
    ]
    assert Customer.objects.count() == ROWS + 5


@pytest.mark.spark
def test_the_spark_engine_loads_an_empty_table_by_the_bulk_path_alike(
    tmp_path: Path, settings: Any, spark: Any
) -> None:
    settings.INGEST_BULK_MIN_ROWS, settings.LAKE_ENABLED = 10, False
    path = write_customers(tmp_path / "c.csv", 500)
    loaded = {}
    for engine in ("polars", "spark"):
        Customer.objects.all().delete()
        run = run_of(ingest(tmp_path / engine, path, engine=engine, force=True))
        assert (run.status, run.report["load"]["path"]) == (RunStatus.SUCCEEDED, "bulk"), run.error_message
        loaded[engine] = rows_of_customers()
    assert loaded["spark"] == loaded["polars"]
    assert len(loaded["spark"]) == 500


def test_a_large_file_into_a_table_with_rows_does_not_wait_for_other_writers(
    tmp_path: Path, settings: Any
) -> None:
    settings.INGEST_BULK_MIN_ROWS, settings.LAKE_ENABLED = 10, False
    ingest(tmp_path / "first", write_customers(tmp_path / "first.csv", 20))
    writing, release = threading.Event(), threading.Event()

    def write() -> None:  # another writer's transaction stays open meanwhile
        try:
            with transaction.atomic():
                Customer.objects.filter(pk=Customer.objects.order_by("id").values("id")[:1]).update(city="X")
                writing.set()
                release.wait(60)
        finally:
            connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert writing.wait(30)
        started = time.monotonic()
        run = run_of(ingest(tmp_path / "second", write_customers(tmp_path / "second.csv", 50, seed=7)))
        seconds = time.monotonic() - started
    finally:
        release.set()
        writer.join(30)
    assert run.report["load"] == {"path": "upsert", "reason": "the table is not empty"}
    assert seconds < 20
