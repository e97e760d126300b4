"""``make env`` (run by ``make run``): write the local ``.env`` once, from ``.env.example``.

The copy differs from the example in two lines: ``DEBUG=true`` and a newly
generated ``SECRET_KEY``. Every process started in the project reads it, so a
second shell gets the settings ``make run`` uses (``python manage.py ingest``
works beside the server). An existing ``.env`` is never touched, and the
message is printed only when the file is written. ``.env`` is git-ignored and
kept out of the Docker image; production never reads it (docs/operations.md, Production).

Standard library only: it runs before the virtualenv exists.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCAL_VALUES = {"DEBUG": "true"}
HEADER = (
    "# Local settings of this checkout, written once by `make env` from .env.example:\n"
    "# DEBUG on and a generated SECRET_KEY. Git-ignored; never deploy it (docs/operations.md, Production).\n"
)
WROTE = (
    "Wrote {path}: local settings for every shell here (DEBUG=true, a new SECRET_KEY). "
    "It is git-ignored; production never reads it (docs/operations.md, Production)."
)
_SETTING = re.compile(r"^([A-Z][A-Z_0-9]*)=")


def env_text(example: str, *, secret_key: str) -> str:
    """``example`` with the local values set (appended if the example lacks them)."""
    values = {**LOCAL_VALUES, "SECRET_KEY": secret_key}
    lines, seen = [], set()
    for line in example.splitlines():
        found = _SETTING.match(line)
        if found and found[1] in values and found[1] not in seen:
            line = f"{found[1]}={values[found[1]]}"
            seen.add(found[1])
        lines.append(line)
    lines += [f"{name}={value}" for name, value in values.items() if name not in seen]
    return HEADER + "\n".join(lines) + "\n"


def env_write(target: Path, *, example: Path) -> bool:
    """Write ``target`` unless it exists; True when written. Readable by its owner only."""
    text = env_text(example.read_text(), secret_key=secrets.token_urlsafe(50))
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env")
    parser.add_argument("--example", type=Path, default=ROOT / ".env.example")
    args = parser.parse_args(argv)
    if env_write(args.env_file, example=args.example):
        print(WROTE.format(path=args.env_file))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
