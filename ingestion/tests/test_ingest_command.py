"""``manage.py ingest`` as people and scripts run it: output, exit codes, crashes, concurrency."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.db import connection

from alerts.models import AlertRecord
from customers.models import Customer
from dataflow.quality.report import NO_FAILURES, NO_RECORDS
from ingestion.management.commands.ingest import (
    CSV_NOT_WRITABLE,
    DRY_RUN_MARK,
    EXIT_FAILED,
    EXIT_REJECTED,
    EXIT_USAGE,
    HELD_BACK,
    NOT_A_FILE,
    NOT_A_NAME,
    NOT_IN_SOURCE,
    NOTHING_NEW,
    WHICH_FILES,
)
from ingestion.models import IngestionRun, QuarantinedRecord, RunStatus
from ingestion.publish import NO_RECORDS_WARNING, SUPERSEDED_WARNING
from testsupport.ingest import CASES, SAMPLE, child_env, write_customers

ROOT = Path(__file__).resolve().parents[2]
JSON_KEYS = {"run_id", "status", "file", "sha256", "counts", "message", "dry_run"}
COUNT_KEYS = {"read", "loaded", "inserted", "updated", "unchanged", "duplicates", "quarantined"}


@pytest.fixture
def inbox(tmp_path: Path, settings: Any) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copyfile(SAMPLE, folder / SAMPLE.name)
    settings.INGEST_LOCAL_DIR = folder
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.INGEST_SOURCE = "local"
    return folder


def run_command(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ingest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def failing_check() -> Iterator[Callable[[str], None]]:
    """Registers a check that always fails, under a tag; unregistered after the test."""
    added: list[Any] = []

    def add(tag: str) -> None:
        def always_fails(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
            return [checks.Error(f"a failing {tag} check", id="tests.E001")]

        checks.register(always_fails, tag)
        added.append(always_fails)

    yield add
    for check in added:
        checks.registry.registry.registered_checks.discard(check)


@pytest.mark.django_db
def test_ingest_runs_the_model_checks_first(inbox: Path, failing_check: Callable[[str], None]) -> None:
    failing_check(checks.Tags.models)
    with pytest.raises(SystemCheckError, match="a failing models check"):
        call_command("ingest", "--filename", SAMPLE.name, skip_checks=False, stdout=StringIO())
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_ingest_skips_the_web_side_checks(inbox: Path, failing_check: Callable[[str], None]) -> None:
    failing_check(checks.Tags.urls)
    out = StringIO()
    call_command("ingest", "--filename", SAMPLE.name, skip_checks=False, stdout=out)
    assert out.getvalue().startswith("customers-100.csv: succeeded (run ")


@pytest.mark.django_db
def test_filename_ingests_from_the_configured_source(inbox: Path) -> None:
    out, _err = run_command("--filename", SAMPLE.name)
    assert out.startswith("customers-100.csv: succeeded (run ")
    assert "read 100, loaded 100 (inserted 100, updated 0, unchanged 0)" in out
    assert Customer.objects.count() == 100


@pytest.mark.django_db
def test_json_prints_exactly_one_object_per_file(inbox: Path) -> None:
    out, _err = run_command("--filename", SAMPLE.name, "--json")
    lines = out.strip().splitlines()
    assert len(lines) == 1
    payload = json.loads(lines[0])
    assert set(payload) == JSON_KEYS
    assert set(payload["counts"]) == COUNT_KEYS
    assert (payload["status"], payload["counts"]["loaded"]) == ("succeeded", 100)


@pytest.mark.django_db
def test_json_says_why_a_file_was_not_loaded(inbox: Path) -> None:
    """It gave the status alone: a script had to look the run up to learn the reason."""
    out, _err = run_command("--filename", SAMPLE.name, "--json")
    assert json.loads(out)["message"] == ""
    out_io = StringIO()
    with pytest.raises(CommandError):
        call_command("ingest", "--path", str(CASES / "missing_columns.csv"), "--json", stdout=out_io)
    rejected = json.loads(out_io.getvalue())
    assert rejected["status"] == "rejected"
    assert rejected["message"].startswith("missing_columns.csv: rejected: missing required columns: ")
    out, _err = run_command("--filename", SAMPLE.name, "--json")
    assert "already loaded by run" in json.loads(out)["message"]


@pytest.mark.django_db
def test_second_ingest_prints_skipped_and_succeeds(inbox: Path) -> None:
    run_command("--filename", SAMPLE.name)
    out, _err = run_command("--filename", SAMPLE.name, "--json")
    assert json.loads(out)["status"] == "skipped"


@pytest.mark.django_db
def test_all_ingests_every_new_file_once(inbox: Path) -> None:
    shutil.copyfile(CASES / "semicolon.csv", inbox / "semicolon.csv")
    out, _err = run_command("--all", "--json")
    assert sorted(json.loads(line)["file"] for line in out.splitlines()) == [
        "customers-100.csv",
        "semicolon.csv",
    ]
    out, _err = run_command("--all", "--json")
    assert out == ""
    assert IngestionRun.objects.count() == 2


@pytest.mark.django_db
def test_all_leaves_a_rejected_file_alone_until_it_changes(inbox: Path) -> None:
    """A scheduled poll rejected (and alerted) the same unchanged file again on every tick."""
    bad = inbox / "missing_columns.csv"
    shutil.copyfile(CASES / "missing_columns.csv", bad)
    with pytest.raises(CommandError) as info:
        run_command("--all")
    assert info.value.returncode == EXIT_REJECTED
    rejected = IngestionRun.objects.get(filename=bad.name)
    alerts = AlertRecord.objects.count()
    out, _err = run_command("--all")
    held = HELD_BACK.format(name=bad.name, run_id=rejected.pk)
    assert out.splitlines() == [held, NOTHING_NEW]
    assert (IngestionRun.objects.count(), AlertRecord.objects.count()) == (2, alerts)
    out, _err = run_command("--all", "--json")
    assert out == ""
    # The partner puts a new version in its place: taken again.
    later = time.time() + 5
    os.utime(bad, (later, later))
    with pytest.raises(CommandError):
        run_command("--all")
    assert IngestionRun.objects.filter(filename=bad.name).count() == 2
    # By name, whenever asked (the rules may have changed).
    with pytest.raises(CommandError):
        run_command("--filename", bad.name)
    assert IngestionRun.objects.filter(filename=bad.name, status=RunStatus.REJECTED).count() == 3


@pytest.mark.django_db
def test_path_ingests_an_explicit_file(inbox: Path) -> None:
    out, _err = run_command("--path", str(CASES / "nested.json"), "--json")
    assert json.loads(out)["counts"]["loaded"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "warning"),
    [
        ("last_quarantined.csv", SUPERSEDED_WARNING.format(count=2, key="customer_id")),
        ("header_only.csv", NO_RECORDS_WARNING),
    ],
)
def test_the_runs_warnings_are_printed_each_once(inbox: Path, case: str, warning: str) -> None:
    out, _err = run_command("--path", str(CASES / case), "--reject-above", "60")
    assert (NO_RECORDS in out) is (case == "header_only.csv"), out
    assert (NO_FAILURES in out) is False, out
    assert out.count(f"warning: {warning}") == 1, out
    for line in IngestionRun.objects.get().warnings:
        assert out.count(f"warning: {line}") == 1, out


@pytest.mark.django_db
def test_rejected_file_raises_with_exit_code_3_and_one_line(inbox: Path) -> None:
    with pytest.raises(CommandError) as info:
        run_command("--path", str(CASES / "missing_columns.csv"))
    assert info.value.returncode == EXIT_REJECTED
    assert str(info.value).startswith("missing_columns.csv: rejected: missing required columns: ")


@pytest.mark.django_db
def test_dry_run_changes_no_customers(inbox: Path) -> None:
    out, _err = run_command("--filename", SAMPLE.name, "--dry-run", "--json")
    assert json.loads(out)["counts"]["inserted"] == 100
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_dry_run_says_so_and_counts_what_it_would_load(inbox: Path) -> None:
    out, _err = run_command("--filename", SAMPLE.name, "--dry-run")
    first = out.splitlines()[0]
    assert first.startswith(f"{DRY_RUN_MARK}customers-100.csv: succeeded (run ")
    assert first.endswith(
        "read 100, would load 100 (insert 100, update 0, unchanged 0), duplicates 0, quarantined 0; "
        "nothing written"
    )


@pytest.mark.django_db
def test_the_done_log_line_says_dry_run(inbox: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    run_command("--filename", SAMPLE.name, "--dry-run")
    done = [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg["event"] == "ingest.done"]
    assert [line["dry_run"] for line in done] == [True]


@pytest.mark.django_db
def test_json_says_whether_the_run_was_a_dry_run(inbox: Path) -> None:
    dry, _err = run_command("--filename", SAMPLE.name, "--dry-run", "--json")
    real, _err = run_command("--filename", SAMPLE.name, "--json")
    assert (json.loads(dry)["dry_run"], json.loads(real)["dry_run"]) == (True, False)


@pytest.mark.django_db
def test_a_rejected_dry_run_is_marked_and_alerts_nobody(inbox: Path) -> None:
    with pytest.raises(CommandError) as info:
        run_command("--path", str(CASES / "missing_columns.csv"), "--dry-run")
    assert info.value.returncode == EXIT_REJECTED
    assert str(info.value).startswith(f"{DRY_RUN_MARK}missing_columns.csv: rejected: missing required")
    assert not AlertRecord.objects.exists()


@pytest.mark.django_db
def test_a_missing_local_file_is_bad_usage_and_records_no_run(inbox: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError) as by_name:
        run_command("--filename", "nope.csv")
    with pytest.raises(CommandError) as by_path:
        run_command("--path", str(tmp_path / "nope.csv"))
    assert (by_name.value.returncode, by_path.value.returncode) == (EXIT_USAGE, EXIT_USAGE)
    assert str(by_name.value) == NOT_IN_SOURCE.format(name="nope.csv", folder=inbox)
    assert str(by_path.value) == NOT_A_FILE.format(path=tmp_path / "nope.csv")
    assert not IngestionRun.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["../../README.md", "sub/customers-100.csv", "..", "a\\b.csv"])
def test_a_path_given_as_filename_is_bad_usage_and_records_no_run(inbox: Path, name: str) -> None:
    """It was a failed run, a fetch_failed alert and exit 4, as if the source had broken."""
    (inbox / "sub").mkdir()
    shutil.copyfile(SAMPLE, inbox / "sub" / SAMPLE.name)
    with pytest.raises(CommandError) as info:
        run_command("--filename", name)
    assert (info.value.returncode, str(info.value)) == (EXIT_USAGE, NOT_A_NAME.format(name=name))
    assert not IngestionRun.objects.exists()
    assert not AlertRecord.objects.exists()


@pytest.mark.django_db
def test_a_quarantine_csv_where_none_can_be_written_is_bad_usage_before_any_run(
    inbox: Path, tmp_path: Path
) -> None:
    for path, problem in [(tmp_path / "no" / "q.csv", "no such directory"), (tmp_path, "a directory")]:
        with pytest.raises(CommandError) as info:
            run_command("--filename", SAMPLE.name, "--quarantine-csv", str(path))
        assert info.value.returncode == EXIT_USAGE
        assert str(info.value) == CSV_NOT_WRITABLE.format(path=path, problem=problem)
    assert not IngestionRun.objects.exists()


@pytest.mark.django_db
def test_a_quarantine_csv_that_fails_to_write_is_one_line_and_the_load_stands(inbox: Path) -> None:
    """It was a Python traceback and exit 1 (/dev/full: every write fails, no space left)."""
    with pytest.raises(CommandError) as info:
        run_command("--filename", SAMPLE.name, "--quarantine-csv", "/dev/full")
    assert info.value.returncode == EXIT_FAILED
    assert str(info.value) == CSV_NOT_WRITABLE.format(path="/dev/full", problem="No space left on device")
    assert IngestionRun.objects.get().status == RunStatus.SUCCEEDED
    assert Customer.objects.count() == 100


@pytest.mark.django_db
def test_no_file_named_is_bad_usage(inbox: Path) -> None:
    with pytest.raises(CommandError) as info:
        run_command("--json")
    assert (info.value.returncode, str(info.value)) == (EXIT_USAGE, WHICH_FILES)


@pytest.mark.django_db
def test_date_format_option_reaches_the_transform(inbox: Path, tmp_path: Path) -> None:
    path = tmp_path / "dmy.csv"
    path.write_text(SAMPLE.read_text().replace("2020-08-24", "24/08/2020"))
    run_command("--path", str(path), "--date-format", "%d/%m/%Y")
    assert str(Customer.objects.get(customer_id="DD37Cf93aecA6Dc").subscription_date) == "2020-08-24"


@pytest.mark.django_db
def test_date_formats_setting_reaches_the_transform(inbox: Path, tmp_path: Path, settings: Any) -> None:
    settings.INGEST_DATE_FORMATS = ["%d.%m.%Y"]
    path = tmp_path / "dots.csv"
    path.write_text(SAMPLE.read_text().replace("2020-08-24", "24.08.2020"))
    run_command("--path", str(path))
    assert str(Customer.objects.get(customer_id="DD37Cf93aecA6Dc").subscription_date) == "2020-08-24"


# --- as a process: exit status, stdout/stderr, kills, concurrency ----------------------


def manage(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "ingest", *args],
        cwd=ROOT,
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_process_exit_codes_and_one_error_line_without_traceback(inbox: Path, tmp_path: Path) -> None:
    ok = manage(tmp_path, "--filename", SAMPLE.name, "--json")
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["status"] == "succeeded"
    rejected = manage(tmp_path, "--path", str(CASES / "truncated.json"), "--json")
    assert rejected.returncode == EXIT_REJECTED
    assert json.loads(rejected.stdout)["status"] == "rejected"
    assert rejected.stderr.strip().splitlines() == [
        "CommandError: truncated.json: rejected: JSON ends early (truncated file?) at line 3 column 63"
    ]
    assert "Traceback" not in rejected.stderr


@pytest.mark.django_db(transaction=True)
def test_a_failure_prints_one_line_at_the_default_log_level(inbox: Path, tmp_path: Path) -> None:
    env = child_env(tmp_path) | {"LOG_LEVEL": "info"}  # the default: no extra alert.sent line
    for case, code in (("missing_columns.csv", EXIT_REJECTED), ("truncated.json", EXIT_REJECTED)):
        done = subprocess.run(
            [sys.executable, "manage.py", "ingest", "--path", str(CASES / case)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == code
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(f"CommandError: {case}: rejected: ")


def test_an_unknown_option_is_named(tmp_path: Path) -> None:
    done = manage(tmp_path, "--bogus")
    assert done.returncode == EXIT_USAGE
    assert done.stderr.strip().splitlines()[-1] == "manage.py ingest: error: unrecognized arguments: --bogus"


@pytest.mark.django_db(transaction=True)
def test_unreachable_database_fails_with_exit_code_4(inbox: Path, tmp_path: Path) -> None:
    env = child_env(tmp_path) | {"DB_HOST": "127.0.0.1", "DB_PORT": "9", "DB_CONNECT_TIMEOUT": "2"}
    env["RETRY_ATTEMPTS"] = "1"  # the database connect is retried (issue #6); one attempt here
    failed = subprocess.run(
        [sys.executable, "manage.py", "ingest", "--filename", SAMPLE.name],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failed.returncode == EXIT_FAILED
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("CommandError: database unreachable: ")


def wait_for(predicate: Any, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def backend_running(sql_prefix: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            # Only this test database: other test sessions may share the server.
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE state = 'active' AND datname = current_database() AND query LIKE %s",
            [sql_prefix + "%"],
        )
        return bool(cursor.fetchone()[0])


def start_ingest(tmp_path: Path, name: str, *extra: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "ingest", "--filename", name, "--json", *extra],
        cwd=ROOT,
        env=child_env(tmp_path) | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("moment", "sql_prefix"), [("staging", "COPY"), ("publishing", "WITH latest AS")])
def test_killed_ingest_leaves_nothing_and_next_ingest_cleans_up(
    inbox: Path, tmp_path: Path, moment: str, sql_prefix: str
) -> None:
    write_customers(inbox / "big.csv", 50_000)
    # The upsert's moment: the bulk path (dataflow/tests/test_bulk_processes.py) is kept off.
    # 200 batches, each staged by a COPY of its own: one of them is seen running however fast
    # the machine (with 50 batches of 1,000, a quick run once ended before any was seen).
    child = start_ingest(tmp_path, "big.csv", "--batch-size", "250", INGEST_BULK_MIN_ROWS=str(10**9))
    try:
        wait_for(lambda: backend_running(sql_prefix) or child.poll() is not None)
        assert child.poll() is None, f"ingest ended before the {moment} moment: {child.communicate()}"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert not Customer.objects.exists()
    assert not QuarantinedRecord.objects.exists()
    killed = IngestionRun.objects.get()
    assert killed.status == RunStatus.RUNNING
    # The server notices the dead session; the next ingest marks the run failed and loads the file.
    wait_for(lambda: not backend_running(sql_prefix))
    again = manage(tmp_path, "--filename", "big.csv", "--json", timeout=300)
    assert json.loads(again.stdout)["counts"]["loaded"] == 50_000
    killed.refresh_from_db()
    assert killed.status == RunStatus.FAILED


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ingests_of_one_file_load_it_once(inbox: Path, tmp_path: Path) -> None:
    write_customers(inbox / "twice.csv", 20_000)
    children = [start_ingest(tmp_path, "twice.csv") for _ in range(2)]
    outputs = [child.communicate(timeout=300) for child in children]
    assert [c.returncode for c in children] == [0, 0], [err for _out, err in outputs]
    statuses = sorted(json.loads(out)["status"] for out, _err in outputs)
    assert statuses == ["skipped", "succeeded"]
    assert Customer.objects.count() == 20_000
    assert IngestionRun.objects.filter(status=RunStatus.SUCCEEDED).count() == 1


@pytest.mark.django_db
def test_demo_setup_ingests_the_sample_and_is_idempotent(inbox: Path, settings: Any) -> None:
    settings.DJANGO_SUPERUSER_PASSWORD = "a-long-demo-password-for-tests"
    for _ in range(2):
        call_command("demo_setup", stdout=StringIO(), stderr=StringIO())
    assert Customer.objects.count() == 100
    assert sorted(IngestionRun.objects.values_list("status", flat=True)) == ["skipped", "succeeded"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["0", "-5", "many", "1.5"])
def test_a_batch_size_below_one_or_not_an_integer_is_refused_before_reading(inbox: Path, value: str) -> None:
    with pytest.raises(CommandError, match=r"--batch-size: expected an integer >= 1"):
        run_command("--batch-size", value, "--path", str(SAMPLE))
    assert not IngestionRun.objects.exists()
