"""``manage.py demo_setup`` (run by ``make run``): the curl it prints returns rows of the sample; the
upload it prints sends a shipped file with bad records."""

from __future__ import annotations

import hashlib
import re
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from testsupport import ROOT, SAMPLE

CURL = re.compile(r'curl "(?P<url>[^"]+)" -H "Authorization: Token \$\(cat (?P<token_file>[^)]+)\)"')


@pytest.mark.django_db
def test_the_printed_curl_returns_customers_of_the_sample(settings: Any, tmp_path: Path) -> None:
    settings.DJANGO_SUPERUSER_PASSWORD = "a long enough demo password 123"
    settings.INGEST_SOURCE = "local"
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.DATA_DIR = tmp_path / "data"
    out = StringIO()
    call_command("demo_setup", base_url="http://127.0.0.1:8000", stdout=out, stderr=StringIO())

    printed = CURL.search(out.getvalue())
    assert printed is not None, out.getvalue()
    url = urlsplit(printed["url"])
    token_file = Path(printed["token_file"])
    token = token_file.read_text()
    assert token not in out.getvalue()  # the output ends up in logs: the token stays in its file
    assert token_file.stat().st_mode & 0o777 == 0o600
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get(f"{url.path}?{url.query}")

    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert len(rows) == 4
    assert {row["country"] for row in rows} == {"Solomon Islands"}


@pytest.mark.django_db
def test_the_printed_upload_sends_a_shipped_file_with_bad_records_the_readme_shows(
    settings: Any, tmp_path: Path
) -> None:
    settings.DJANGO_SUPERUSER_PASSWORD = "a long enough demo password 123"
    out = StringIO()
    settings.DATA_DIR = tmp_path / "data"
    call_command("demo_setup", skip_ingest=True, stdout=out, stderr=StringIO())

    printed = re.search(r'Upload a file: curl -F "file=@(?P<path>[^"]+)"', out.getvalue())
    assert printed is not None, out.getvalue()
    sample = ROOT / printed["path"]
    assert sample.is_file()
    assert sample.read_bytes() != SAMPLE.read_bytes()  # the sample is loaded already: it would be skipped
    assert b"not-an-email" in sample.read_bytes()
    assert hashlib.sha256(sample.read_bytes()).hexdigest()[:8] in (ROOT / "README.md").read_text()
