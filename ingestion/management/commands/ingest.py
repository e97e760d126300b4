"""``manage.py ingest``: load partner files into PostgreSQL, once, with an audit record per file.

Exit status: 0 loaded or skipped (already loaded), 3 rejected (the file is
bad), 4 failed (our side: database, source, bug), 2 bad usage (an unknown
option, no file named, a local file that does not exist).

A dry run says so on every line it prints (``dry run: ``), counts what it
would load, carries ``"dry_run": true`` in ``--json`` and alerts nobody.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Tags
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from common.cli import positive_int
from common.schema import schema_checked
from dataflow.context import IngestHook, IngestOptions
from dataflow.engines import DEFAULT_ENGINE, ENGINES, EngineUnavailable, engine_check
from dataflow.progress import progress_for
from dataflow.quality.batch import quality_setup
from dataflow.quality.report import WARNING_LINE, failures_table, quarantine_write_csv
from dataflow.retry import db_ensure_connection
from dataflow.schema import load_schema
from dataflow.sources import SOURCE_FACTORIES, LocalSource, Source, SourceError, source_for
from dataflow.sources.base import check_file_name
from ingestion.hooks import ingest_hooks
from ingestion.models import RunStatus
from ingestion.pipeline import IngestResult, ingest_file
from ingestion.quality_selectors import quarantine_for_runs, run_quality_report, run_warnings
from ingestion.selectors import run_settled_names
from ingestion.source_audit import source_list_recorded

EXIT_OK = 0
EXIT_REJECTED = 3
EXIT_FAILED = 4
EXIT_USAGE = 2
EXIT_CODES = {
    RunStatus.SUCCEEDED: EXIT_OK,
    RunStatus.SKIPPED: EXIT_OK,
    RunStatus.REJECTED: EXIT_REJECTED,
    RunStatus.FAILED: EXIT_FAILED,
}
DATABASE_UNREACHABLE = "database unreachable: {problem}"
NOT_A_FILE = "{path}: no such file"
NOT_IN_SOURCE = "{name}: no such file in {folder}"
WHICH_FILES = "one of the arguments --filename --path --all is required"
SOME_NOT_LOADED = "{bad} of {total} files not loaded"
NOTHING_NEW = "no new files in the source"
NOT_A_NAME = "{name}: --filename takes a file name in the source, not a path (--path reads a file elsewhere)"
CSV_NOT_WRITABLE = "--quarantine-csv {path}: {problem}"
HELD_BACK = (
    "{name}: not taken again: rejected by run {run_id} and unchanged since"
    " (ingest --filename {name} tries it again)"
)
DRY_RUN_MARK = "dry run: "


def summary_line(result: IngestResult, *, dry_run: bool = False) -> str:
    c = result.counts
    head = f"{result.file}: {result.status} (run {result.run_id})"
    if result.status == RunStatus.SKIPPED:
        return f"{head}: {result.message}"
    if dry_run:
        return (
            f"{DRY_RUN_MARK}{head}: read {c.read}, would load {c.loaded} (insert {c.inserted}, "
            f"update {c.updated}, unchanged {c.unchanged}), duplicates {c.duplicates}, "
            f"quarantined {c.quarantined}; nothing written"
        )
    return (
        f"{head}: read {c.read}, loaded {c.loaded} (inserted {c.inserted}, updated {c.updated}, "
        f"unchanged {c.unchanged}), duplicates {c.duplicates}, quarantined {c.quarantined}"
    )


def marked(line: str, *, dry_run: bool) -> str:
    """A failure line, marked when it comes from a dry run."""
    return f"{DRY_RUN_MARK}{line}" if dry_run else line


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _csv_path_check(path: Path | None) -> None:
    """A ``--quarantine-csv`` that cannot be written is bad usage, found before any run."""
    if path is not None and (path.is_dir() or not path.parent.is_dir()):
        problem = "a directory" if path.is_dir() else "no such directory"
        raise CommandError(CSV_NOT_WRITABLE.format(path=path, problem=problem), returncode=EXIT_USAGE)


def _csv_write(path: Path, *, run_ids: list[int]) -> None:
    """The runs' quarantined records to ``path``; a failure is one line (the runs stand: their
    quarantine is in the database, the API and the console)."""
    try:
        quarantine_write_csv(rows=quarantine_for_runs(run_ids=run_ids), path=path)
    except OSError as exc:
        problem = CSV_NOT_WRITABLE.format(path=path, problem=exc.strerror or exc)
        raise CommandError(problem, returncode=EXIT_FAILED) from exc


class Command(BaseCommand):
    help = "Ingest partner customer files (CSV, JSON, NDJSON, gzip) into PostgreSQL, once per file."
    # The checks of what a load writes (the models, the customers table against its schema
    # declaration: ingestion/checks.py); not the web side's (URLs, admin, templates), which
    # import every view on each run and which migrate, runserver and `check` run (#16).
    requires_system_checks = [Tags.models]

    def add_arguments(self, parser: CommandParser) -> None:
        # Not required=True: argparse would then name the missing choice before an unknown
        # option (`ingest --bogus`); handle() checks that one was given.
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--filename", help="A file name in the source (--source).")
        which.add_argument("--path", type=Path, help="An explicit local file.")
        which.add_argument(
            "--all", action="store_true", help="Every file in the source not loaded since it changed."
        )
        parser.add_argument(
            "--source",
            choices=sorted(SOURCE_FACTORIES),
            default=None,
            help="Where --filename/--all look: local, sftp or s3 (default INGEST_SOURCE).",
        )
        parser.add_argument(
            "--force", action="store_true", help="Load even if the same bytes were already loaded."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Read, check and report; change no customer."
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object per file, nothing else."
        )
        parser.add_argument(
            "--date-format",
            action="append",
            default=[],
            help="Extra strftime date format for this source (repeatable), e.g. %%d/%%m/%%Y.",
        )
        parser.add_argument(
            "--batch-size", type=positive_int, default=None, help="Rows per batch (INGEST_BATCH_SIZE)."
        )
        parser.add_argument(
            "--warn-above",
            type=float,
            metavar="PERCENT",
            help="Percent of invalid records above which the run warns and alerts (schema default: 1).",
        )
        parser.add_argument(
            "--reject-above",
            type=float,
            metavar="PERCENT",
            help="Percent of invalid records above which the file is rejected (schema default: 10).",
        )
        parser.add_argument(
            "--quarantine-csv",
            type=Path,
            metavar="PATH",
            help="Write the quarantined records of this ingest, with their reasons, to PATH (CSV).",
        )
        parser.add_argument(
            "--engine",
            choices=ENGINES,
            default=DEFAULT_ENGINE,
            help="polars (this process) or spark (SPARK_MASTER; needs requirements-spark.txt).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not (options["filename"] or options["path"] or options["all"]):
            raise CommandError(WHICH_FILES, returncode=EXIT_USAGE)
        ingest_options = IngestOptions(
            work_dir=Path(settings.INGEST_WORK_DIR),
            batch_size=options["batch_size"] or settings.INGEST_BATCH_SIZE,
            force=options["force"],
            dry_run=options["dry_run"],
            extra_date_formats=(*settings.INGEST_DATE_FORMATS, *options["date_format"]),
            engine=options["engine"],
            warn_above=options["warn_above"],
            reject_above=options["reject_above"],
            max_bytes=settings.INGEST_MAX_BYTES,
        )
        _csv_path_check(options["quarantine_csv"])
        try:  # a bad threshold or date format is a usage error, found before any run is recorded
            quality_setup(
                schema=load_schema(),
                extra_date_formats=ingest_options.extra_date_formats,
                warn_above=ingest_options.warn_above,
                reject_above=ingest_options.reject_above,
            )
        except ValueError as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from exc
        try:
            engine_check(options["engine"])
        except EngineUnavailable as exc:
            raise CommandError(str(exc), returncode=EXIT_FAILED) from exc
        try:
            with schema_checked(returncode=EXIT_FAILED):  # a database behind the code says so
                db_ensure_connection()  # retried: a database that is restarting delays the run
                source, names = self._files(options)
                if not names:
                    if not options["json"]:
                        self.stdout.write(NOTHING_NEW)
                    return
                hooks = ingest_hooks()
                results = [self._ingest_one(source, name, ingest_options, options, hooks) for name in names]
        except DatabaseError as exc:
            raise CommandError(
                DATABASE_UNREACHABLE.format(problem=_first_line(exc)), returncode=EXIT_FAILED
            ) from exc
        except SourceError as exc:
            raise CommandError(_first_line(exc), returncode=EXIT_FAILED) from exc
        if options["quarantine_csv"]:
            _csv_write(options["quarantine_csv"], run_ids=[r.run_id for r in results if r.run_id is not None])
        bad = [r for r in results if EXIT_CODES[RunStatus(r.status)] != EXIT_OK]
        if not bad:
            return
        code = max(EXIT_CODES[RunStatus(r.status)] for r in bad)
        dry_run = options["dry_run"]
        if len(results) == 1:
            raise CommandError(marked(bad[0].message, dry_run=dry_run), returncode=code)
        for result in bad:
            self.stderr.write(marked(result.message, dry_run=dry_run))
        summary = SOME_NOT_LOADED.format(bad=len(bad), total=len(results))
        raise CommandError(marked(summary, dry_run=dry_run), returncode=code)

    def _files(self, options: dict[str, Any]) -> tuple[Source, list[str]]:
        if options["path"] is not None:
            given: Path = options["path"].expanduser()
            # The folder is resolved, never the file itself: a symbolic link is refused by the source
            # (a rejected run), not followed.
            path = given.parent.resolve() / given.name
            if not (path.exists() or path.is_symlink()):
                raise CommandError(NOT_A_FILE.format(path=path), returncode=EXIT_USAGE)
            return LocalSource(path.parent), [path.name]
        source = source_for(options["source"])
        if options["filename"]:
            name = options["filename"]
            try:  # a path, not a name: bad usage (no run, no alert), whatever the source
                check_file_name(name)
            except SourceError as exc:
                raise CommandError(NOT_A_NAME.format(name=name), returncode=EXIT_USAGE) from exc
            # A typo, not a transfer failure: no run, no alert, bad usage. (A link or a folder
            # there is the source's to refuse: a rejected run.)
            if isinstance(source, LocalSource):
                candidate = source.directory / name
                if not (candidate.exists() or candidate.is_symlink()):
                    missing = NOT_IN_SOURCE.format(name=name, folder=source.directory)
                    raise CommandError(missing, returncode=EXIT_USAGE)
            return source, [name]
        settled = run_settled_names(source=source.kind)
        names = []
        for remote in source_list_recorded(source=source):
            last = settled.get(remote.name)
            changed = remote.modified is not None and last is not None and remote.modified > last.finished_at
            if options["force"] or last is None or changed:
                names.append(remote.name)
            elif last.status == RunStatus.REJECTED:
                if remote.modified is None:  # no way to tell it unchanged: tried again
                    names.append(remote.name)
                elif not options["json"]:  # rejected already, and alerted: not again every poll
                    self.stdout.write(HELD_BACK.format(name=remote.name, run_id=last.run_id))
        return source, names

    def _ingest_one(
        self,
        source: Source,
        name: str,
        ingest_options: IngestOptions,
        options: dict[str, Any],
        hooks: list[IngestHook],
    ) -> IngestResult:
        stream = getattr(self.stderr, "_out", None)
        progress = progress_for(stream)
        result = ingest_file(source=source, name=name, options=ingest_options, hooks=hooks, progress=progress)
        if options["json"]:
            self.stdout.write(json.dumps({**result.as_json(), "dry_run": options["dry_run"]}))
        elif result.status in (RunStatus.SUCCEEDED, RunStatus.SKIPPED):
            self.stdout.write(summary_line(result, dry_run=options["dry_run"]))
        if not options["json"] and result.run_id is not None and result.status != RunStatus.SKIPPED:
            quality = run_quality_report(run_id=result.run_id)
            table = failures_table(quality) if quality else ""
            if table:
                self.stdout.write(table)
            # The run's other warnings (no records, keys superseded by a quarantined record, the
            # reader's notes) are on the run for the API and the console: the terminal gets them too.
            for warning in run_warnings(run_id=result.run_id):
                if WARNING_LINE.format(text=warning) not in table:
                    self.stdout.write(WARNING_LINE.format(text=warning))
        return result
