"""The project's folders, which every settings module shares."""

from __future__ import annotations

from pathlib import Path

from config.env import env

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR: Path = env("DATA_DIR", str(BASE_DIR / ".data"), lambda v: Path(v).expanduser().resolve())
