from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

EMIT = """
import logging, django
django.setup()
import structlog
structlog.get_logger("etl").info("run_finished", run_id=7)
logging.getLogger("django.server").info("GET /healthz", extra={"request": object(), "status_code": 200})
"""


def _emit(log_format: str) -> list[str]:
    env = {
        **os.environ,
        "DEBUG": "true",
        "LOG_FORMAT": log_format,
        "LOG_LEVEL": "info",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", EMIT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stderr.strip(), f"no log output; stdout={result.stdout!r}"
    return result.stderr.strip().splitlines()


def test_json_format_writes_one_json_object_per_line_for_structlog_and_django() -> None:
    lines = [json.loads(line) for line in _emit("json")]
    assert lines[0]["event"] == "run_finished"
    assert lines[0]["run_id"] == 7
    assert lines[1]["logger"] == "django.server"
    assert lines[1]["status_code"] == 200
    assert "request" not in lines[1]


def test_console_format_is_human_readable() -> None:
    lines = _emit("console")
    assert "run_finished" in lines[0]
    assert "run_id=7" in lines[0]
    assert not lines[0].startswith("{")
