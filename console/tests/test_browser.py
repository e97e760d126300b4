"""The console in a real browser (Chromium driven by Playwright), against the live server and a real
worker: log in, upload a file with bad rows, follow the run to its end, read its report, download its
quarantine CSV, see the dashboard's charts drawn with data. Screenshots at 1280 and 1920 px go to the
test's temporary folder (``UPDATE_README_SCREENSHOT=1``: the README's into docs/img/).

Debian's ``chromium`` is used as it is (no browser download): the tests skip, saying so, without it.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from ingestion.models import IngestionRun, RunStatus
from testsupport import CASES, ROOT
from testsupport.worker import procrastinate_truncate, worker_env, worker_start, worker_stop

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = (1280, 1920)
README_SHOT = ROOT / "docs" / "img" / "console-report.png"
EVERY_RULE = CASES / "quality" / "every_rule.csv"
PASSWORD = "a browser password 1"
TIMEOUT_MS = 60_000

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (requirements-dev)"
)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]


@pytest.fixture
def console(
    monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path, live_server: Any, django_user_model: Any
) -> Iterator[dict[str, Any]]:
    """The live server, a superuser, uploads kept under ``tmp_path`` and a real worker taking them."""
    # The live server answers each request in a new thread: no connection may outlive its thread
    # (DB_CONN_MAX_AGE would keep them open, and the test database could not be dropped).
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    procrastinate_truncate()
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.INGEST_WORK_DIR = tmp_path / "work"
    django_user_model.objects.create_superuser("operator", "op@example.org", PASSWORD)
    log = tmp_path / "worker.log"
    worker = worker_start(worker_env(tmp_path, UPLOAD_DIR=str(settings.UPLOAD_DIR)), log)
    try:
        yield {"url": live_server.url, "shots": tmp_path / "shots", "log": log}
    finally:
        worker_stop(worker)
        procrastinate_truncate()


def _login(page: Any, url: str) -> None:
    page.goto(f"{url}{reverse('admin:login')}")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def _shoot(page: Any, folder: Path, name: str) -> None:
    """Screenshots at each width; the page must fit it (no sideways scrolling)."""
    folder.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=folder / f"{name}-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (
            f"{name} is wider than {width} px"
        )
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def _realistic_dry_run() -> None:
    IngestionRun.objects.create(
        source="sftp",
        filename="acme-partner-customers-export-2026-12-04T093000Z.csv",
        status=RunStatus.SUCCEEDED,
        dry_run=True,
        rows_read=1_234_567,
        rows_loaded=1_234_000,
        rows_quarantined=567,
        finished_at=timezone.now(),
    )


PARTNERS = (
    "northwind-traders-customers",
    "acme-partner-customers-export",
    "globex-corporation-daily",
    "initech-crm-extract",
    "umbrella-holdings-customers",
    "stark-industries-clients",
    "wayne-enterprises-accounts",
    "tyrell-corp-customers",
)


def _partners() -> None:
    """Real runs of eight partners with long names: the per-partner chart must name each bar."""
    for n, partner in enumerate(PARTNERS):
        IngestionRun.objects.create(
            source="sftp",
            filename=f"{partner}-2026-12-0{n + 1}.csv",
            status=RunStatus.SUCCEEDED,
            rows_read=1000 * (n + 1),
            rows_loaded=990 * (n + 1),
            rows_quarantined=10 * (n + 1),
            finished_at=timezone.now(),
        )


def _upload_and_follow(page: Any, url: str) -> int:
    page.goto(f"{url}{reverse('console:upload')}")
    page.set_input_files("#id_file", str(EVERY_RULE))
    page.fill("#id_warn_above", "5")
    page.fill("#id_reject_above", "90")
    page.click("#upload-form input[type=submit]")
    page.wait_for_url("**/console/runs/*/")
    run_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    # The report refreshes itself until the worker has finished the run.
    page.wait_for_selector('[data-status="succeeded"]', timeout=TIMEOUT_MS)
    return run_id


def in_browser(scenario: Callable[[Any], int]) -> int:
    """``scenario(page)`` in Chromium, in a thread of its own.

    Playwright's sync API runs an event loop (and greenlets) in its thread: there, Django would
    need DJANGO_ALLOW_ASYNC_UNSAFE, and the database connections opened by the test's set-up
    would be left behind (the test database could then not be dropped). The test's thread keeps
    the ORM; the browser's thread only browses.
    """

    def run() -> int:
        with playwright_api.sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = chromium.new_page(viewport={"width": WIDTHS[0], "height": 900}, accept_downloads=True)
                return scenario(page)
            finally:
                chromium.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=300)


def test_upload_follow_report_csv_and_dashboard_in_a_browser(console: dict[str, Any]) -> None:
    _realistic_dry_run()  # a long partner name and two badges: the widest row the runs list shows
    _partners()
    run_id = in_browser(lambda page: _scenario(page, console["url"], console["shots"]))
    assert IngestionRun.objects.get(pk=run_id).status == RunStatus.SUCCEEDED


def _scenario(page: Any, url: str, shots: Path) -> int:
    _login(page, url)
    run_id = _upload_and_follow(page, url)

    counts = page.inner_text(".console-counts")
    assert "read\t41\t=\t10\twould load" not in counts  # a real run, not a dry run
    assert "41" in counts
    assert "30" in counts
    assert page.locator(".console-counts .run-badge--succeeded").count() == 2  # both sums add up
    rule = page.locator("#rule-failures tr", has_text="email.pattern")
    assert "line " in rule.inner_text()
    _shoot(page, shots, "report")
    if os.environ.get("UPDATE_README_SCREENSHOT"):
        page.screenshot(path=README_SHOT, full_page=False)

    with page.expect_download() as download:
        page.click("text=Download quarantine CSV")
    saved = shots / "quarantine.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(saved.open(encoding="utf-8")))
    assert len(rows) == 30
    assert {row["run_id"] for row in rows} == {str(run_id)}
    assert any(row["rule_codes"] == "email.pattern" for row in rows)

    page.goto(f"{url}{reverse('console:dashboard')}")
    page.wait_for_function(
        "() => { const c = Chart.getChart(document.getElementById('chart-days'));"
        " return c && c.data.datasets[0].data.some(v => v > 0); }",
        timeout=TIMEOUT_MS,
    )
    drawn = page.evaluate(
        "() => ['chart-days', 'chart-sources', 'chart-patterns', 'chart-rules'].map("
        "id => Chart.getChart(document.getElementById(id)).data.datasets[0].data.reduce((a, b) => a + b, 0))"
    )
    assert all(total > 0 for total in drawn), drawn
    shown = page.evaluate(
        "() => { const c = Chart.getChart(document.getElementById('chart-patterns'));"
        " return [c.scales.x.ticks.length, c.data.labels.length]; }"
    )
    assert shown[0] == shown[1] >= len(PARTNERS), shown  # every partner's bar named, none skipped
    _shoot(page, shots, "dashboard")

    page.goto(f"{url}{reverse('admin:etl_ingestionrun_changelist')}")
    assert page.locator("#result_list .run-badge--succeeded").count() == 2 + len(PARTNERS)
    fits = (
        "(() => { const r = document.querySelector('#changelist .results');"
        " return r.scrollWidth <= r.clientWidth; })()"
    )
    assert page.evaluate(fits), "the runs list scrolls sideways at 1280 px"
    _shoot(page, shots, "runs")
    page.goto(f"{url}{reverse('admin:customers_customer_changelist')}")
    assert page.evaluate(fits), "the customers list scrolls sideways at 1280 px"
    _shoot(page, shots, "customers")
    return run_id
