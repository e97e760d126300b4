"""A quarantined record keeps only its start (with its size and sha256); API pages stop at a byte budget."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from customers.services import api_token_create
from ingestion.models import IngestionRun, QuarantinedRecord
from testsupport.ingest import HEADER, customer_lines, ingest, run_of

pytestmark = pytest.mark.django_db


def test_an_oversized_record_is_stored_as_its_start_with_size_and_sha256(
    tmp_path: Path, settings: Any
) -> None:
    settings.QUARANTINE_RAW_MAX_CHARS = 4096
    good = customer_lines(2)
    huge = good[0].replace("user1@example.com", "x" * 50_000 + "@example.com")
    path = tmp_path / "huge.csv"
    path.write_text("\n".join([HEADER, huge, good[1]]) + "\n")
    result = ingest(tmp_path, path)
    [record] = QuarantinedRecord.objects.filter(run=run_of(result))
    assert record.raw is None
    assert record.raw_truncated is True
    assert len(record.raw_text) == 4096
    assert record.raw_text.startswith('{"Index":"1"')  # the start of the record's JSON text
    assert record.raw_size is not None
    assert record.raw_size > 50_000
    assert len(record.raw_sha256) == 64


def test_a_small_record_is_kept_whole(tmp_path: Path) -> None:
    bad = customer_lines(1)[0].replace("user1@example.com", "not-an-email")
    path = tmp_path / "small.csv"
    path.write_text(f"{HEADER}\n{bad}\n")
    [record] = QuarantinedRecord.objects.filter(run=run_of(ingest(tmp_path, path)))
    assert record.raw is not None
    assert record.raw["Email"] == "not-an-email"
    assert (record.raw_truncated, record.raw_size, record.raw_sha256) == (False, None, "")


def test_a_set_aside_row_longer_than_the_cap_keeps_its_start_and_its_digest(
    tmp_path: Path, settings: Any
) -> None:
    settings.QUARANTINE_RAW_MAX_CHARS = 100
    ragged = customer_lines(1)[0] + ",extra," + "y" * 500
    path = tmp_path / "ragged.csv"
    path.write_text(f"{HEADER}\n{ragged}\n")
    [record] = QuarantinedRecord.objects.filter(run=run_of(ingest(tmp_path, path)))
    assert record.raw_text == ragged[:100]
    assert record.raw_sha256 == hashlib.sha256(ragged.encode()).hexdigest()
    assert record.raw_size == len(ragged.encode())


def test_quarantine_pages_stop_at_the_byte_budget_and_next_goes_on(settings: Any) -> None:
    settings.QUARANTINE_PAGE_MAX_BYTES = 10_000
    run = IngestionRun.objects.create(source="local", filename="big.csv", status="rejected")
    for line in range(2, 12):  # 10 records of ~3 KB each: 3 per page
        QuarantinedRecord.objects.create(
            run=run, line_number=line, raw_text="z" * 3000, rule_codes=["row.json"], messages=["m"]
        )
    root = get_user_model().objects.create_superuser("root", "root@example.org", "a long password")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=root)}")
    url: str | None = f"/api/ingestion-runs/{run.pk}/quarantine/?page_size=100"
    pages = []
    while url:
        response = client.get(url)
        assert len(response.content) <= 10_000 + 3_500  # the budget, plus at most one record over it
        body = response.json()
        pages.append([r["line_number"] for r in body["results"]])
        url = body["next"]
    assert pages == [[2, 3, 4], [5, 6, 7], [8, 9, 10], [11]]
    assert json.loads(client.get(f"/api/ingestion-runs/{run.pk}/quarantine/?page_size=2").content)["next"]
