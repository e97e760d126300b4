"""A database made by the migrations of before the move of ``etl/`` (#17), with rows in it, migrates to
the new layout and keeps its rows: the ``ingestion`` app keeps the label ``etl``, so its tables and its
migration history are the ones already there (no table is created, renamed or emptied).

Child processes on a database of their own, as ``customers/tests/test_migrations.py`` does.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from testsupport.manage import manage_in

PRE_MOVE = {
    "etl": "0004_lake_status_pending",
    "alerts": "0002_fetch_failed_label",
    "customers": "0006_search_index_statistics_target",
}
"""The last migration of each app when ``etl/`` was moved: what a database of that time has applied."""

PRE_MOVE_DATABASE = """
import datetime
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pre_move = {pre_move!r}
executor = MigrationExecutor(connection)
targets = [(app, pre_move.get(app, name)) for app, name in executor.loader.graph.leaf_nodes()]
executor.migrate(targets)
# The models as those migrations left them (what the code of that time wrote through).
apps = MigrationExecutor(connection).loader.project_state(targets).apps
Run = apps.get_model("etl", "IngestionRun")
Quarantined = apps.get_model("etl", "QuarantinedRecord")
Alert = apps.get_model("alerts", "AlertRecord")
Customer = apps.get_model("customers", "Customer")
now = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
run = Run.objects.create(
    source="local", filename="before-the-move.csv", sha256="ab" * 32, status="succeeded",
    rows_read=2, rows_loaded=1, rows_quarantined=1, lake_status="pending",
)
Quarantined.objects.create(
    run=run, line_number=3, raw={{"email": "nope"}}, rule_codes=["email.pattern"],
    messages=["email: not an email"],
)
Alert.objects.create(run=run, cause="rejected", message="before-the-move.csv: rejected")
Customer.objects.create(
    index=1, customer_id="C-BEFORE", first_name="Ada", last_name="Lovelace", company="Engines",
    city="London", country="UK", phone_1="1", email="ada@example.com",
    subscription_date=datetime.date(2020, 1, 1), source_file="before-the-move.csv", ingested_at=now,
)
print(run.pk)
"""

READ_WITH_TODAYS_MODELS = """
import json
from alerts.models import AlertRecord
from customers.models import Customer
from ingestion.models import IngestionRun, QuarantinedRecord

run = IngestionRun.objects.get(filename="before-the-move.csv")
print(json.dumps({
    "run": [run.status, run.rows_read, run.lake_status],
    "quarantined": list(run.quarantined_records.values_list("line_number", "rule_codes")),
    "alerts": list(run.alerts.values_list("cause", "message")),
    "customer": Customer.objects.get(customer_id="C-BEFORE").email,
    "tables": [IngestionRun._meta.db_table, QuarantinedRecord._meta.db_table, AlertRecord._meta.db_table],
}))
"""


def _shell(db_name: str, code: str) -> str:
    done = manage_in(db_name, "shell", "--no-imports", "-c", code)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_a_database_of_before_the_move_migrates_and_keeps_its_runs_quarantine_alerts_and_customers(
    fresh_database: str,
) -> None:
    _shell(fresh_database, PRE_MOVE_DATABASE.format(pre_move=PRE_MOVE))

    migrated = manage_in(fresh_database, "migrate", "--noinput")

    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    found = json.loads(_shell(fresh_database, READ_WITH_TODAYS_MODELS))
    assert found == {
        "run": ["succeeded", 2, "pending"],
        "quarantined": [[3, ["email.pattern"]]],
        "alerts": [["rejected", "before-the-move.csv: rejected"]],
        "customer": "ada@example.com",
        "tables": ["etl_ingestionrun", "etl_quarantinedrecord", "alerts_alertrecord"],
    }


@pytest.mark.django_db
def test_the_moved_apps_need_no_new_migration() -> None:
    # A label or table change would show here as a migration to write (and data to move).
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())
