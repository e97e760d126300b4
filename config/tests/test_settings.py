"""Settings validation: a bad value stops start-up with one line naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k" * 30 + "-production-secret-key-0123456789"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DEBUG", "SECRET_KEY"))}
    # Empty means the default, also over a local .env (make env writes DEBUG=true and a key there).
    base.update(DEBUG="", SECRET_KEY="")
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DB_PORT", "five-four-three-two"),
        ("DB_PORT", "70000"),
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL", "loud"),
        ("INGEST_BATCH_SIZE", "0"),
        ("EMBEDDED_PG_SHARED_BUFFERS", "1G"),
        ("EMBEDDED_PG_MAX_WAL_SIZE", "lots"),
        ("UPLOAD_MAX_BYTES", "0"),
        ("INGEST_SCHEDULE", "ftp=*/5 * * * *"),
        ("INGEST_SCHEDULE", "local=every five minutes"),
        ("WORKER_STALLED_CHECK", "61 * * * *"),
        ("LAKE_MAINTENANCE_SCHEDULE", "daily"),
        ("LAKE_MAINTENANCE_SCHEDULE", "30 25 * * *"),
        ("WORKER_STALLED_SECONDS", "2"),  # less than the grace period + 2 heartbeats (30 + 2 x 10)
        ("INGEST_BULK_MIN_ROWS", "0"),
        ("INGEST_BULK_MIN_ROWS", "many"),
        ("FILE_UMASK", "0o22"),
        ("FILE_UMASK", "888"),
        ("FILE_UMASK", "u=rwx"),
    ],
)
def test_bad_value_fails_with_one_line_naming_the_setting(variable: str, value: str) -> None:
    env = {"DEBUG": "true", variable: value}
    result = run_manage("check", **env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ImproperlyConfigured: {variable}: ")
    assert repr(value) in lines[0]


def test_production_refuses_to_start_without_secret_key() -> None:
    result = run_manage("check", DEBUG="false", DB_HOST="127.0.0.1")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "ImproperlyConfigured: SECRET_KEY: required when DEBUG is off "
        "(generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )


def test_production_refuses_insecure_secret_key() -> None:
    result = run_manage("check", DEBUG="false", SECRET_KEY="django-insecure-short", DB_HOST="127.0.0.1")
    assert result.returncode != 0
    assert "SECRET_KEY: too weak for production" in result.stderr


DECODE_CURSOR = """
from customers.cursors import cursor_decode
from customers.keyset import Ordering
from customers.models import Customer
print(cursor_decode(token={token!r}, ordering=Ordering(field="city", descending=False), model=Customer).pk)
"""


def test_a_cursor_signed_with_a_key_listed_in_secret_key_fallbacks_still_decodes(settings: Any) -> None:
    from customers.cursors import cursor_encode
    from customers.keyset import Ordering

    old, new = "old-" + STRONG_KEY, "new-" + STRONG_KEY
    settings.SECRET_KEY = old
    token = cursor_encode(
        ordering=Ordering(field="city", descending=False), row={"city": "Lima", "pk": 41}, forward=True
    )
    code = DECODE_CURSOR.format(token=token)

    fallbacks = f"another-former-key-0123456789,{old}"
    rotated = run_manage(
        "shell", "--no-imports", "-c", code, DEBUG="true", SECRET_KEY=new, SECRET_KEY_FALLBACKS=fallbacks
    )
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.split() == ["41"]

    forgotten = run_manage(
        "shell", "--no-imports", "-c", code, DEBUG="true", SECRET_KEY=new, SECRET_KEY_FALLBACKS=""
    )
    assert forgotten.returncode != 0
    assert "Invalid cursor" in forgotten.stderr


def test_documented_production_settings_pass_check_deploy() -> None:
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="api.example.com",
        DB_HOST="127.0.0.1",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_env_example_lists_every_setting_read_by_settings() -> None:
    import re

    modules = [*sorted((ROOT / "config").glob("settings*.py")), ROOT / "config" / "paths.py"]
    settings_src = "".join(path.read_text() for path in modules)
    read = set(re.findall(r'env(?:_list)?\(\s*"([A-Z_0-9]+)"', settings_src))
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z_0-9]+)=", example, flags=re.MULTILINE))
    assert read - documented == set()
