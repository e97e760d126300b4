"""An error's first line, the one way it is shown: redacted, never raising, never empty when it matters."""

from __future__ import annotations

from typing import Any

from common.errors import error_brief, error_line, error_text, text_line


class Unreadable(Exception):
    def __str__(self) -> str:
        raise ConnectionRefusedError("the JVM is gone")


def test_error_line_keeps_only_the_first_line() -> None:
    assert error_line(OSError("first line\nsecond line")) == "OSError: first line"
    assert error_line(EOFError()) == "EOFError"


def test_error_text_is_the_first_line_without_surrounding_blanks() -> None:
    assert error_text(ValueError("\n  bad value\nmore")) == "bad value"
    assert error_text(ValueError()) == ""


def test_an_error_whose_message_cannot_be_read_is_still_described() -> None:
    assert error_text(Unreadable()) == "(its message could not be read: ConnectionRefusedError)"


def test_error_brief_is_the_type_when_the_message_is_empty() -> None:
    assert error_brief(KeyError()) == "KeyError"
    assert error_brief(RuntimeError("disk full\ntraceback")) == "disk full"


def test_secrets_never_reach_the_first_line(settings: Any) -> None:
    settings.SFTP_PASSWORD = "hunter2-very-secret"
    error = ConnectionError("login as bob:hunter2-very-secret@sftp failed\nsecond")

    assert "hunter2" not in error_text(error)
    assert "hunter2" not in error_line(error)
    assert "hunter2" not in text_line(str(error))
    assert error_text(error) == "login as bob:[redacted]@sftp failed"
