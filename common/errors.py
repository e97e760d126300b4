"""An error's first line, the one way it is shown to people: a run's message, a log line, an alert.

Always through here: the text is redacted (a password in a connection string never reaches a
log or an alert) and reading it never raises. A test forbids writing
``str(exc).splitlines()[0]`` and the like anywhere else (common/tests/test_errors.py).
"""

from __future__ import annotations


def _redact(text: str) -> str:
    # Imported here: the Spark engine ships this module by value to executors that run the CSV core
    # without the project (dataflow.engines.spark.split); there, with no settings, there is
    # nothing to redact, and the driver redacts what it stores and logs.
    try:
        from config.redaction import redact
    except ImportError:
        return text
    return redact(text)


def text_line(text: str) -> str:
    """The first line of ``text`` ("" when it has none), secrets redacted."""
    lines = text.strip().splitlines()
    return _redact(lines[0]) if lines else ""


def error_text(error: BaseException) -> str:
    """The first line of ``error``'s message ("" when it has none), secrets redacted; never raises:
    a Py4J error asks the JVM for its text, and a JVM that died of OutOfMemoryError refuses the
    connection."""
    try:
        text = str(error)
    except Exception as describing:
        return f"(its message could not be read: {type(describing).__name__})"
    return text_line(text)


def error_brief(error: BaseException) -> str:
    """The first line of ``error``'s message, or its type's name when the message is empty."""
    return error_text(error) or type(error).__name__


def error_line(error: BaseException) -> str:
    """The first line of an error, prefixed with its type when the text alone is vague."""
    text = error_text(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
