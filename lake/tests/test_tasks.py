"""The workers' lake maintenance (lake/tasks.py): registered on LAKE_MAINTENANCE_SCHEDULE while
the lake is on, and running what ``manage.py lake maintenance`` runs."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from procrastinate.blueprints import Blueprint

from lake import lake_publish_run
from lake.catalog import lake_catalogs_close
from lake.tasks import (
    LAKE_MAINTENANCE_PERIODIC,
    LAKE_MAINTENANCE_TASK,
    lake_maintenance_run,
    maintenance_register,
)
from lake.tests.support import curated_rows, customer, load, make_run
from testsupport import ROOT
from testsupport.ingest import child_env
from testsupport.worker import procrastinate_truncate, wait_for, worker_env, worker_start, worker_stop

KEY = (LAKE_MAINTENANCE_TASK, LAKE_MAINTENANCE_PERIODIC)
REGISTERED = (
    "from procrastinate.contrib.django import app; import json; app.perform_import_paths(); "
    "print(json.dumps({t.periodic_id: [t.cron, t.configure_kwargs.get('queueing_lock')] "
    "for t in app.periodic_registry.periodic_tasks.values() if t.task.name == 'lake_maintenance'}))"
)


def test_maintenance_is_registered_on_the_configured_cron_with_one_job_at_a_time() -> None:
    blueprint = Blueprint()
    maintenance_register(blueprint, cron="0 4 * * 1", enabled=True)
    periodic = blueprint.periodic_registry.periodic_tasks[KEY]
    assert periodic.cron == "0 4 * * 1"
    assert periodic.configure_kwargs["queueing_lock"] == LAKE_MAINTENANCE_TASK
    assert periodic.configure_kwargs["lock"] == LAKE_MAINTENANCE_TASK


@pytest.mark.parametrize(("cron", "enabled"), [("", True), ("30 3 * * *", False)])
def test_no_maintenance_is_scheduled_when_off_or_without_the_lake(cron: str, enabled: bool) -> None:
    blueprint = Blueprint()
    maintenance_register(blueprint, cron=cron, enabled=enabled)
    assert blueprint.periodic_registry.periodic_tasks == {}


def _worker_registry(tmp_path: Path, **env: str) -> dict[str, Any]:
    """The lake maintenance a worker started with ``env`` registers (its import paths loaded)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", REGISTERED],
        cwd=ROOT,
        env=child_env(tmp_path) | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_a_worker_registers_the_setting_s_cron_only_while_the_lake_is_on(tmp_path: Path) -> None:
    assert _worker_registry(tmp_path, LAKE_ENABLED="true", LAKE_MAINTENANCE_SCHEDULE="") == {
        "lake": ["30 3 * * *", LAKE_MAINTENANCE_TASK]
    }
    assert _worker_registry(tmp_path, LAKE_ENABLED="true", LAKE_MAINTENANCE_SCHEDULE="15 2 * * *") == {
        "lake": ["15 2 * * *", LAKE_MAINTENANCE_TASK]
    }
    assert _worker_registry(tmp_path, LAKE_ENABLED="true", LAKE_MAINTENANCE_SCHEDULE="off") == {}
    assert _worker_registry(tmp_path, LAKE_ENABLED="false") == {}


def _lake_on(settings: Any, tmp_path: Path) -> dict[str, str]:
    settings.LAKE_ENABLED = True
    settings.LAKE_URI = str(tmp_path / "lake")
    settings.LAKE_CATALOG_NAME = f"t{uuid.uuid4().hex[:12]}"
    return {
        "LAKE_ENABLED": "true",
        "LAKE_URI": settings.LAKE_URI,
        "LAKE_CATALOG_NAME": settings.LAKE_CATALOG_NAME,
    }


@pytest.mark.django_db
def test_the_task_merges_the_pending_change_log_into_the_base(settings: Any, tmp_path: Path) -> None:
    _lake_on(settings, tmp_path)
    try:
        for rows in ([customer("A1")], [customer("A1", city="Lyon"), customer("B2")]):
            run = make_run()
            lake_publish_run(run=run, processed=load(rows, run=run))
        from lake.config import lake_config

        config = lake_config()
        before = curated_rows(config)
        assert len(curated_rows(config, "customers_changes")) == 2

        assert lake_maintenance_run(timestamp=0) == "2 change rows merged into the base, 4 tables maintained"

        assert curated_rows(config, "customers_changes") == []
        assert curated_rows(config) == before
        assert {r["customer_id"]: r["city"] for r in curated_rows(config, "customers_base")} == {
            "A1": "Lyon",
            "B2": "Paris",
        }
    finally:
        lake_catalogs_close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_scheduled_maintenance(settings: Any, tmp_path: Path) -> None:
    lake_env = _lake_on(settings, tmp_path)
    procrastinate_truncate()
    try:
        for rows in ([customer("A1")], [customer("A1", city="Lyon")]):
            run = make_run()
            lake_publish_run(run=run, processed=load(rows, run=run))
        from lake.config import lake_config

        config = lake_config()
        assert len(curated_rows(config, "customers_changes")) == 1
        log = tmp_path / "worker.log"
        env = worker_env(tmp_path, LAKE_MAINTENANCE_SCHEDULE="* * * * * */2", **lake_env)
        worker = worker_start(env, log)
        try:
            wait_for(
                lambda: curated_rows(config, "customers_changes") == [],
                timeout=120,
                what="the change log merged by the worker",
                log=log,
            )
        finally:
            worker_stop(worker)
        assert [r["city"] for r in curated_rows(config, "customers_base")] == ["Lyon"]
        assert log.read_text().splitlines()[0].endswith("; lake maintenance: * * * * * */2.")
    finally:
        lake_catalogs_close()
        procrastinate_truncate()
