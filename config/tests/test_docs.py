"""The README stays short and its links resolve; the docs site builds strictly with a settings
reference generated from ``.env.example``."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 250


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "settings_reference", ROOT / "docs" / "hooks" / "settings_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_readme_fits_in_250_lines() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_readme_links_point_at_files_that_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    assert targets
    missing = [t for t in targets if not t.startswith("http") and not (ROOT / t).is_file()]
    assert missing == []


def test_readme_has_no_in_page_anchors_left_from_the_long_version() -> None:
    assert re.findall(r"\]\(#", (ROOT / "README.md").read_text()) == []


def test_settings_reference_lists_every_setting_of_env_example() -> None:
    example = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    page = _hook().render(example)
    assert names
    assert {name for name in names if f"`{name}`" not in page} == set()


def test_a_setting_added_to_env_example_appears_in_the_reference_with_its_comment() -> None:
    example = (ROOT / ".env.example").read_text()
    added = example + "\n# --- Brand new ---\n# Seconds a <thing> waits | or not.\nNEW_SETTING=7\n"
    page = _hook().render(added)
    section = page.split("## Brand new", 1)[1]
    assert "| `NEW_SETTING` | `7` | Seconds a &lt;thing&gt; waits \\| or not. |" in section


def test_settings_sharing_one_comment_are_one_row() -> None:
    page = _hook().render("# --- Mail ---\n# SMTP server.\nEMAIL_HOST=localhost\nEMAIL_PORT=25\n")
    assert "| `EMAIL_HOST`<br>`EMAIL_PORT` | `localhost`<br>`25` | SMTP server. |" in page


@pytest.mark.slow
def test_docs_site_builds_strictly_with_the_generated_settings_page(tmp_path: Path) -> None:
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    assert mkdocs, "mkdocs is a dev requirement"
    result = subprocess.run(
        [mkdocs, "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    settings_page = (tmp_path / "site" / "reference" / "settings" / "index.html").read_text()
    assert "SECRET_KEY" in settings_page
    assert "<!-- settings-reference -->" not in settings_page  # the marker was replaced
