"""The local ``.env``: ``.env.example`` copied as is behaves like no file; ``make env`` writes one once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".env.example"
STRONG_KEY = "k" * 30 + "-production-secret-key-0123456789"

# Prints every setting whose value is plain data, as JSON.
SHOW_SETTINGS = """
import json, django
from pathlib import Path
django.setup()
from django.conf import settings
plain = (str, int, float, bool, type(None), Path)
def keep(value):
    if isinstance(value, (list, tuple)):
        return all(keep(v) for v in value)
    if isinstance(value, dict):
        return all(keep(v) for v in value.values())
    return isinstance(value, plain)
shown = {name: getattr(settings, name) for name in dir(settings) if name.isupper()}
print(json.dumps({k: v for k, v in shown.items() if keep(v)}, default=str, sort_keys=True))
"""


def example_values() -> dict[str, str]:
    pairs = re.findall(r"^([A-Z][A-Z_0-9]*)=(.*)$", EXAMPLE.read_text(), flags=re.MULTILINE)
    return dict(pairs)


def settings_with(values: dict[str, str], cwd: Path) -> dict[str, object]:
    """The settings a process gets from exactly these values (the environment wins over any .env)."""
    env = {k: v for k, v in os.environ.items() if k not in values}
    env.update(values, DJANGO_SETTINGS_MODULE="config.settings", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("debug", ["true", "false"])
def test_a_copy_of_env_example_behaves_like_no_env_file(tmp_path: Path, debug: str) -> None:
    example = example_values()
    chosen = {"DEBUG": debug, "SECRET_KEY": STRONG_KEY}
    unset = dict.fromkeys(example, "") | chosen
    copied = example | chosen
    # Run elsewhere than the project: a relative path in the example would show.
    assert settings_with(copied, tmp_path) == settings_with(unset, tmp_path)


def make_env(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_env.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_env_writes_the_local_env_once_and_says_so_once(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    first = make_env("--env-file", str(target))
    written = target.read_text()
    second = make_env("--env-file", str(target))

    assert first.returncode == second.returncode == 0
    assert first.stdout.startswith(f"Wrote {target}: local settings for every shell here (DEBUG=true")
    assert second.stdout == ""
    assert target.read_text() == written
    assert target.stat().st_mode & 0o777 == 0o600
    values = dict(re.findall(r"^([A-Z][A-Z_0-9]*)=(.*)$", written, flags=re.MULTILINE))
    assert values["DEBUG"] == "true"
    assert len(values["SECRET_KEY"]) >= 50
    assert {k: v for k, v in values.items() if k not in {"DEBUG", "SECRET_KEY"}} == {
        k: v for k, v in example_values().items() if k not in {"DEBUG", "SECRET_KEY"}
    }


def test_the_written_env_gives_a_second_shell_debug_and_its_key(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    make_env("--env-file", str(target))
    values = dict(re.findall(r"^([A-Z][A-Z_0-9]*)=(.*)$", target.read_text(), flags=re.MULTILINE))
    shown = settings_with(values, tmp_path)
    assert (shown["DEBUG"], shown["SECRET_KEY"]) == (True, values["SECRET_KEY"])


def test_the_local_env_is_git_ignored() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, timeout=30)
    assert ignored.returncode == 0
