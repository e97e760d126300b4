"""Progress: a rich bar on a terminal, structured log lines otherwise."""

from __future__ import annotations

import io

from structlog.testing import capture_logs

from dataflow.progress import LogProgress, RichProgress, progress_for


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_rich_bar_and_pipes_get_log_lines() -> None:
    assert isinstance(progress_for(Terminal()), RichProgress)
    assert isinstance(progress_for(io.StringIO()), LogProgress)


def test_log_progress_emits_bytes_and_rows() -> None:
    progress = LogProgress(every=0)
    with capture_logs() as logs:
        progress.start(name="f.csv", total_bytes=1000)
        progress.advance(bytes_read=500, rows=42)
        progress.stop()
    assert logs == [
        {
            "event": "ingest.progress",
            "log_level": "info",
            "file": "f.csv",
            "bytes_read": 500,
            "total_bytes": 1000,
            "rows": 42,
        }
    ]


def test_rich_bar_shows_rows_loaded() -> None:
    screen = Terminal()
    progress = RichProgress(screen)
    progress.start(name="f.csv", total_bytes=1000)
    progress.advance(bytes_read=1000, rows=1234)
    progress.stop()
    assert "f.csv" in screen.getvalue()
    assert "1,234 rows" in screen.getvalue()
