"""Fixtures shared by the apps' tests: real servers on 127.0.0.1 (SFTP, S3, HTTP, SMTP), a lake of
the test's own, a fresh database for child processes."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import psycopg
import pytest
from django.db import connection
from moto.server import ThreadedMotoServer
from psycopg import sql
from pytest_django import DjangoDbBlocker

from lake.catalog import lake_catalogs_close
from testsupport import SAMPLE
from testsupport.servers import HOST, HttpRecorder, SftpServer, SmtpServer

SAMPLE_CSV = SAMPLE


@pytest.fixture
def fast_retries(settings: Any) -> Any:
    """Real retries, tiny delays: 3 attempts, 10 ms base, 100 ms cap."""
    settings.RETRY_ATTEMPTS = 3
    settings.RETRY_BASE_DELAY = 0.01
    settings.RETRY_MAX_DELAY = 0.1
    return settings


@pytest.fixture
def sftp_client_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


@pytest.fixture
def sftp_root(tmp_path: Path) -> Path:
    """The server's file system: ``inbox/`` holding the sample CSV."""
    root = tmp_path / "sftp-root"
    (root / "inbox").mkdir(parents=True)
    shutil.copyfile(SAMPLE_CSV, root / "inbox" / SAMPLE_CSV.name)
    return root


@pytest.fixture
def sftp_server(sftp_root: Path, sftp_client_key: asyncssh.SSHKey) -> Iterator[SftpServer]:
    server = SftpServer(sftp_root, client_key=sftp_client_key).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sftp_known_hosts(tmp_path: Path, sftp_server: SftpServer) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(sftp_server.known_hosts_line())
    return path


@pytest.fixture
def http_recorder() -> Iterator[HttpRecorder]:
    recorder = HttpRecorder().start()
    try:
        yield recorder
    finally:
        recorder.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto) on 127.0.0.1, one per test module."""
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def lake_on(settings: Any, tmp_path: Path) -> Iterator[Any]:
    """The lake on (off by default under tests), in a lake and a catalog of the test's own."""
    settings.LAKE_ENABLED = True
    settings.LAKE_URI = str(tmp_path / "lake")
    settings.LAKE_CATALOG_NAME = f"t{uuid.uuid4().hex[:12]}"
    settings.INGEST_WORK_DIR = tmp_path / "work"
    yield settings
    lake_catalogs_close()


@pytest.fixture
def fresh_database(django_db_blocker: DjangoDbBlocker) -> Iterator[str]:
    """The name of a database that does not exist yet, on the test database's server, for child
    processes (``testsupport.manage.manage_in``); dropped after the test, whatever they left in it."""
    name = f"fresh_{uuid.uuid4().hex[:12]}"
    yield name
    with django_db_blocker.unblock():
        params = connection.get_connection_params()
    server = {key: params[key] for key in ("host", "port", "user", "password") if params.get(key)}
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
