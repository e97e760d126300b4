"""Publishing runs over the change log (lake/publish.py): a retried step never doubles a change."""

from __future__ import annotations

import pytest

from customers.models import Customer
from ingestion.models import LakeStatus
from lake import lake_publish_run, publish
from lake.models import Change
from lake.tests import support as lake_support
from lake.tests.support import curated_as_pg, curated_rows, customer, load, make_run, pg_rows

lake = lake_support.lake
pytestmark = pytest.mark.django_db


def test_a_step_that_died_after_its_commits_is_completed_without_doubling_them(lake, monkeypatch) -> None:
    first = make_run()
    lake_publish_run(run=first, processed=load([customer("A1")], run=first), config=lake)
    died = make_run()
    processed = load([customer("B2", country="Chile"), customer("A1", city="Lyon")], run=died)

    def killed(**_: object) -> int:
        raise RuntimeError("killed after the Iceberg commits, before the outbox was cleared")

    monkeypatch.setattr(publish, "outbox_clear", killed)
    lake_publish_run(run=died, processed=processed, config=lake)
    died.refresh_from_db()
    assert died.lake_status == LakeStatus.FAILED
    assert Change.objects.filter(run_id=died.pk).count() == 2
    monkeypatch.undo()

    after = make_run()
    lake_publish_run(run=after, processed=load([customer("C3")], run=after), config=lake)

    died.refresh_from_db()
    assert died.lake_status == LakeStatus.REPAIRED
    assert not Change.objects.exists()
    assert curated_as_pg(lake) == pg_rows()
    by_country = {
        str(r["country"]): int(str(r["customers"])) for r in curated_rows(lake, "customers_by_country")
    }
    assert by_country == {"France": 2, "Chile": 1}
    assert sum(by_country.values()) == Customer.objects.count()


def test_a_run_writes_only_the_metadata_of_its_commits_no_orphan_file(lake) -> None:
    from pathlib import Path

    from lake.catalog import lake_catalog
    from lake.config import NAMESPACE

    for key in ("A1", "B2", "C3"):
        run = make_run()
        lake_publish_run(run=run, processed=load([customer(key)], run=run), config=lake)

    catalog = lake_catalog(lake)
    for _namespace, name in catalog.list_tables(NAMESPACE):
        table = catalog.load_table((NAMESPACE, name))
        on_disk = list((Path(table.location().removeprefix("file://")) / "metadata").glob("*.metadata.json"))
        assert len(on_disk) == len(table.metadata.metadata_log) + 1, name  # every file is a version


def test_a_runs_changes_are_appended_a_batch_at_a_time(lake, monkeypatch) -> None:
    """The change log gets the run's changes in tables of at most ``BATCH_ROWS`` rows (fetched a
    few at a time): one data file each, none larger."""
    from lake import fetch, outbox
    from lake.catalog import lake_catalog

    first = make_run()
    lake_publish_run(run=first, processed=load([customer("A1")], run=first), config=lake)
    monkeypatch.setattr(outbox, "BATCH_ROWS", 2)
    monkeypatch.setattr(fetch, "FETCH_ROWS", 1)
    run = make_run()
    rows = [customer(f"N{i}") for i in range(4)] + [customer("A1", city="Lyon")]

    outcome = lake_publish_run(run=run, processed=load(rows, run=run), config=lake)

    assert outcome.mode == "changes"
    changes = publish.lake_tables(lake_catalog(lake)).changes
    files = [task.file for task in changes.scan().plan_files()]
    assert sorted(f.record_count for f in files) == [1, 2, 2]
    assert curated_as_pg(lake) == pg_rows()
