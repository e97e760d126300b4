"""Settings of the pipeline: ingest, sources and retries, the lake, Spark (star-imported by
``config/settings.py``, where the rest is). Every value comes from the environment or ``.env``.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import choice, env, env_list, parse_bool, parse_port, parse_positive_float, parse_positive_int
from config.paths import BASE_DIR, DATA_DIR
from dataflow.engines.spark.conf import spark_conf_from  # pure: no Django, no Spark

# --- ETL: ingest (issue #3) -----------------------------------------------------

INGEST_SOURCE: str = env("INGEST_SOURCE", "local", choice("local", "sftp", "s3"))
INGEST_LOCAL_DIR: Path = env(
    "INGEST_LOCAL_DIR", str(BASE_DIR / "scripts" / "downloads"), lambda v: Path(v).expanduser()
)
INGEST_WORK_DIR: Path = env("INGEST_WORK_DIR", str(DATA_DIR / "work"), lambda v: Path(v).expanduser())
# Records per batch: the ingest's memory follows it (issue #16: 1M rows, lake on, peak RSS of the
# process 436 MiB at 25,000, about 490 at 50,000, 600 at 100,000; docs/benchmarks.md).
INGEST_BATCH_SIZE: int = env("INGEST_BATCH_SIZE", "25000", parse_positive_int)
# Arrow's allocator for every process of the project (issue #16, docs/benchmarks.md): pyarrow's
# default, mimalloc, kept about 180 MiB of freed buffers through a lake rebuild of 1M rows (its
# threads' heaps); jemalloc gives them back. pyarrow reads the variable once, at its import, which
# comes after the settings; an ARROW_DEFAULT_MEMORY_POOL set in the environment wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
# A file of at least this many records into an EMPTY customers table is loaded into a new table,
# indexed once, then swapped in (dataflow/bulk.py, issue #16), unless something depends on the table.
INGEST_BULK_MIN_ROWS: int = env("INGEST_BULK_MIN_ROWS", "50000", parse_positive_int)
# Most bytes a file may hold once decompressed: a larger one is rejected (issue #14). 0: no limit.
INGEST_MAX_BYTES: int = env("INGEST_MAX_BYTES", str(10 << 30), int)
# Characters of a quarantined record kept (its start, with the whole one's size and sha256).
QUARANTINE_RAW_MAX_CHARS: int = env("QUARANTINE_RAW_MAX_CHARS", "4096", parse_positive_int)
# Most bytes of quarantined records on one API page (the page also stops at page_size rows).
QUARANTINE_PAGE_MAX_BYTES: int = env("QUARANTINE_PAGE_MAX_BYTES", str(1 << 20), parse_positive_int)
# Date formats tried after the schema's ISO format (strftime, comma-separated), e.g. %d/%m/%Y.
INGEST_DATE_FORMATS: list[str] = env_list("INGEST_DATE_FORMATS")
# Code, not an environment variable (like MIDDLEWARE): what runs beside the stages of
# every `manage.py ingest` (dataflow.context.IngestHook), in order. The lake follows every ingest.
INGEST_HOOKS: list[str] = ["lake.hook.LakeHook"]

# --- ETL: sources and retries (issue #6) ------------------------------------------
# Secrets (passwords, passphrases) are read here and never logged.

SOURCE_PATTERN: str = env("SOURCE_PATTERN", "*.csv,*.json,*.ndjson,*.jsonl,*.gz")
SOURCE_AFTER_SUCCESS: str = env("SOURCE_AFTER_SUCCESS", "leave", choice("leave", "move", "delete"))
SOURCE_PROCESSED_DIR: str = env("SOURCE_PROCESSED_DIR", "processed")
SOURCE_TIMEOUT: float = env("SOURCE_TIMEOUT", "30", parse_positive_float)

SFTP_HOST: str = env("SFTP_HOST", "")
SFTP_PORT: int = env("SFTP_PORT", "22", parse_port)
SFTP_USERNAME: str = env("SFTP_USERNAME", "")
SFTP_PASSWORD: str = env("SFTP_PASSWORD", "")
SFTP_KEY_PATH: str = env("SFTP_KEY_PATH", "")
SFTP_KEY_PASSPHRASE: str = env("SFTP_KEY_PASSPHRASE", "")
SFTP_REMOTE_DIR: str = env("SFTP_REMOTE_DIR", ".")
SFTP_KNOWN_HOSTS: str = env("SFTP_KNOWN_HOSTS", "")
SFTP_HOST_KEY_FINGERPRINT: str = env("SFTP_HOST_KEY_FINGERPRINT", "")

S3_BUCKET: str = env("S3_BUCKET", "")
S3_PREFIX: str = env("S3_PREFIX", "")
S3_ENDPOINT_URL: str = env("S3_ENDPOINT_URL", "")

RETRY_ATTEMPTS: int = env("RETRY_ATTEMPTS", "5", parse_positive_int)
RETRY_BASE_DELAY: float = env("RETRY_BASE_DELAY", "1", parse_positive_float)
RETRY_MAX_DELAY: float = env("RETRY_MAX_DELAY", "60", parse_positive_float)

# --- Lake (issue #7) ----------------------------------------------------------
# Zones raw/, processed/, curated/ under LAKE_URI: a folder or s3://bucket/prefix.
# The Iceberg catalog defaults to pyiceberg's SQL catalog in our own PostgreSQL
# (schema LAKE_CATALOG_SCHEMA); PYICEBERG_CATALOG__<NAME>__<PROPERTY> variables
# override any catalog property (REST, Glue, Hive catalogs).

LAKE_ENABLED: bool = env("LAKE_ENABLED", "true", parse_bool)
LAKE_URI: str = env(
    "LAKE_URI",
    str(DATA_DIR / "lake"),
    lambda v: v.rstrip("/") if "://" in v else str(Path(v).expanduser().resolve()),
)
LAKE_CATALOG_NAME: str = env("LAKE_CATALOG_NAME", "lake")
LAKE_CATALOG_TYPE: str = env("LAKE_CATALOG_TYPE", "sql", choice("sql", "rest", "glue", "hive", "dynamodb"))
LAKE_CATALOG_URI: str = env("LAKE_CATALOG_URI", "")
LAKE_CATALOG_SCHEMA: str = env("LAKE_CATALOG_SCHEMA", "iceberg_catalog")
LAKE_SNAPSHOT_RETENTION_DAYS: int = env("LAKE_SNAPSHOT_RETENTION_DAYS", "7", parse_positive_int)
LAKE_SNAPSHOT_KEEP_LAST: int = env("LAKE_SNAPSHOT_KEEP_LAST", "10", parse_positive_int)
LAKE_COMPACT_MIN_FILES: int = env("LAKE_COMPACT_MIN_FILES", "4", parse_positive_int)
# S3 access for LAKE_URI=s3://...: the same variables as the S3 source (issue #6).
LAKE_S3: dict[str, str] = {
    "endpoint": env("S3_ENDPOINT_URL", ""),
    "access_key_id": env("AWS_ACCESS_KEY_ID", ""),
    "secret_access_key": env("AWS_SECRET_ACCESS_KEY", ""),
    "session_token": env("AWS_SESSION_TOKEN", ""),
    "region": env("AWS_DEFAULT_REGION", "us-east-1"),
}

# --- Spark (issue #8) ---------------------------------------------------------
# ingest --engine spark: where Spark runs and how (dataflow/engines/spark/session.py).
SPARK_MASTER: str = env("SPARK_MASTER", "local[*]")
SPARK_APP_NAME: str = env("SPARK_APP_NAME", "customers-ingest")
SPARK_SHUFFLE_PARTITIONS: int = env("SPARK_SHUFFLE_PARTITIONS", "4", parse_positive_int)
# Bytes of a CSV file per executor task of the split read (Spark's own default partition size).
SPARK_SPLIT_BYTES: int = env("SPARK_SPLIT_BYTES", str(128 << 20), parse_positive_int)
SPARK_LOG_LEVEL: str = env("SPARK_LOG_LEVEL", "warn", choice("error", "warn", "info", "debug")).upper()
# SPARK_CONF_<KEY>=value: any Spark setting (SPARK_CONF_SPARK_EXECUTOR_MEMORY=4g → spark.executor.memory).
SPARK_CONF: dict[str, str] = spark_conf_from(os.environ)

# --- Uploads and the worker (issue #15) -----------------------------------------
# POST /api/ingestions/ and the admin's upload form: a file is accepted into UPLOAD_DIR (shared by
# the web processes and the workers: a shared volume when they run on different machines), queued,
# and ingested by a worker (`manage.py worker`, Procrastinate on our PostgreSQL).
from config.schedule import parse_cron, parse_cron_or_off, parse_schedule  # noqa: E402 (kept inside this section)

UPLOAD_MAX_BYTES: int = env("UPLOAD_MAX_BYTES", str(1 << 30), parse_positive_int)
UPLOAD_DIR: Path = env("UPLOAD_DIR", str(DATA_DIR / "uploads"), lambda v: Path(v).expanduser())
# Source polls run by the workers: `<source>=<cron>` pairs separated by `;`
# (`local=*/15 * * * *;sftp=0 * * * *`). Empty: no scheduled poll (cron/systemd remain possible).
INGEST_SCHEDULE: dict[str, str] = env("INGEST_SCHEDULE", "", parse_schedule)
WORKER_CONCURRENCY: int = env("WORKER_CONCURRENCY", "1", parse_positive_int)
WORKER_HEARTBEAT_SECONDS: float = env("WORKER_HEARTBEAT_SECONDS", "10", parse_positive_float)
WORKER_SHUTDOWN_GRACE_SECONDS: float = env("WORKER_SHUTDOWN_GRACE_SECONDS", "30", parse_positive_float)
# A worker silent for this long is dead: its jobs are retried by another worker.
WORKER_STALLED_SECONDS: float = env("WORKER_STALLED_SECONDS", "60", parse_positive_float)
# How often a worker looks for the jobs of dead workers (cron; a 6th field counts seconds).
WORKER_STALLED_CHECK: str = env("WORKER_STALLED_CHECK", "* * * * *", parse_cron)
if WORKER_STALLED_SECONDS < WORKER_SHUTDOWN_GRACE_SECONDS + 2 * WORKER_HEARTBEAT_SECONDS:
    # A worker finishing its jobs after SIGTERM sends no heartbeat: it must not look dead meanwhile.
    raise ImproperlyConfigured(
        f"WORKER_STALLED_SECONDS: invalid value '{WORKER_STALLED_SECONDS:g}': must be at least "
        "WORKER_SHUTDOWN_GRACE_SECONDS + 2 x WORKER_HEARTBEAT_SECONDS "
        f"({WORKER_SHUTDOWN_GRACE_SECONDS + 2 * WORKER_HEARTBEAT_SECONDS:g})"
    )
# `manage.py lake maintenance`, run by the workers on this cron (default 03:30 daily, off-peak),
# only while LAKE_ENABLED; `off`: never (cron or a systemd timer may run the command instead).
LAKE_MAINTENANCE_SCHEDULE: str = env("LAKE_MAINTENANCE_SCHEDULE", "30 3 * * *", parse_cron_or_off)
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = ""  # the web processes never import the tasks' code...
PROCRASTINATE_IMPORT_PATHS = ["ingestion.tasks", "lake.tasks"]  # ...the workers (and a deferral by name) do
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": WORKER_CONCURRENCY,
    "update_heartbeat_interval": WORKER_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": WORKER_STALLED_SECONDS,
    "shutdown_graceful_timeout": WORKER_SHUTDOWN_GRACE_SECONDS,
    "delete_jobs": "successful",  # the runs are the audit log; finished jobs are not kept
}
