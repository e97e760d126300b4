"""``manage.py``: a finished command leaves its objects to the process's exit, not to a last collection."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError

import manage


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def _command(effect: Callable[[], None]) -> Callable[[list[str]], None]:
    def execute(argv: list[str]) -> None:
        effect()

    return execute


@pytest.mark.usefixtures("unfrozen")
def test_a_finished_command_freezes_the_objects_left_for_the_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("django.core.management.execute_from_command_line", _command(lambda: None))
    assert gc.get_freeze_count() == 0
    manage.main()
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("unfrozen")
def test_a_failing_command_keeps_its_exit_code_and_freezes_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise SystemExit(1)

    monkeypatch.setattr("django.core.management.execute_from_command_line", _command(fail))
    with pytest.raises(SystemExit) as exited:
        manage.main()
    assert exited.value.code == 1
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("unfrozen")
def test_a_bad_setting_is_still_one_line_and_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def bad() -> None:
        raise ImproperlyConfigured("DB_PORT: not a number")

    monkeypatch.setattr("django.core.management.execute_from_command_line", _command(bad))
    with pytest.raises(SystemExit) as exited:
        manage.main()
    assert exited.value.code == 2
    assert capsys.readouterr().err == "ImproperlyConfigured: DB_PORT: not a number\n"
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("unfrozen")
def test_a_command_error_propagates_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    def error() -> None:
        raise CommandError("boom")

    monkeypatch.setattr("django.core.management.execute_from_command_line", _command(error))
    with pytest.raises(CommandError, match="boom"):
        manage.main()
