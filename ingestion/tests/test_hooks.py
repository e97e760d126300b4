"""Hooks are passed in: the ingest command builds INGEST_HOOKS; engines ask each hook what it wants."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.management import CommandError, call_command

from dataflow.context import HookBase, StageContext
from ingestion.hooks import ingest_hooks
from ingestion.models import IngestionRun, LakeStatus, RunStatus
from ingestion.pipeline import ingest_file
from lake.hook import LakeHook
from testsupport.ingest import SAMPLE, inbox_with, options_for

pytestmark = pytest.mark.django_db


def _ingest_command(path: Path) -> IngestionRun:
    with contextlib.suppress(CommandError):
        call_command("ingest", "--path", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    return IngestionRun.objects.latest("id")


def test_the_ingest_command_runs_the_lake_hook_from_settings() -> None:
    assert [type(hook) for hook in ingest_hooks()] == [LakeHook]


def test_an_ingest_with_no_hooks_configured_leaves_the_lake_alone(lake_on: Any, tmp_path: Path) -> None:
    lake_on.INGEST_HOOKS = []
    run = _ingest_command(SAMPLE)
    assert (run.status, run.rows_loaded) == (RunStatus.SUCCEEDED, 100)
    assert run.lake_status == LakeStatus.NOT_RUN
    assert not (tmp_path / "lake").exists()


def test_the_lake_hook_runs_from_settings_with_the_ingest_command(lake_on: Any, tmp_path: Path) -> None:
    run = _ingest_command(SAMPLE)
    assert run.lake_status == LakeStatus.SUCCEEDED, run.lake_error
    assert (tmp_path / "lake").is_dir()


class Counting(HookBase):
    def __init__(self, *, batches: bool) -> None:
        self.batches = batches
        self.rows = 0

    def wants_batches(self, ctx: StageContext) -> bool:
        return self.batches

    def on_batch(self, ctx: StageContext, *, raw: pl.DataFrame, valid: pl.DataFrame) -> None:
        self.rows += valid.height


def test_only_hooks_that_want_batches_get_them(tmp_path: Path) -> None:
    wanting, not_wanting = Counting(batches=True), Counting(batches=False)
    source = inbox_with(tmp_path, SAMPLE)
    result = ingest_file(
        source=source, name=SAMPLE.name, options=options_for(tmp_path), hooks=[wanting, not_wanting]
    )
    assert result.status == RunStatus.SUCCEEDED
    assert (wanting.rows, not_wanting.rows) == (100, 0)


def test_the_lake_hook_wants_batches_and_parts_only_for_a_run_it_publishes(
    lake_on: Any, tmp_path: Path
) -> None:
    hook = LakeHook()
    ctx = StageContext(source="local", filename="a.csv", path=SAMPLE, sha256="0" * 64, size=1)
    assert (hook.wants_batches(ctx), hook.parts_folder(ctx)) == (False, None)  # no run yet
    ctx.options = options_for(tmp_path, dry_run=True)
    ctx.run = IngestionRun.objects.create(source="local", filename="a.csv", sha256="0" * 64)
    assert (hook.wants_batches(ctx), hook.parts_folder(ctx)) == (False, None)  # a dry run
    ctx.options = options_for(tmp_path)
    assert hook.wants_batches(ctx)
    assert hook.parts_folder(ctx) == tmp_path / "work" / ".lake-spool" / f"run-{ctx.run.pk}"
    lake_on.LAKE_ENABLED = False
    assert (hook.wants_batches(ctx), hook.parts_folder(ctx)) == (False, None)
