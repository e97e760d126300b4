"""MkDocs hook: the settings reference page is generated from ``.env.example`` at build time.

``.env.example`` is the one list of settings (a test checks that it names every setting
``config/settings*.py`` reads), so the page cannot drift from it. Its format: ``# --- Section ---``
lines open a section; a comment block describes the settings written right after it; a comment
block followed by no setting is a note of its section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- settings-reference -->"
_SECTION = re.compile(r"^# -{3} (?P<title>.+?)\s*-*$")
_SETTING = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


@dataclass
class Group:
    """Settings written one after another under one comment block."""

    comment: list[str] = field(default_factory=list)
    settings: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Section:
    title: str
    groups: list[Group] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse(text: str) -> tuple[list[str], list[Section]]:
    """The file's preamble and its sections, in file order."""
    preamble: list[str] = []
    sections: list[Section] = []
    comment: list[str] = []
    for line in [*text.splitlines(), ""]:
        section = _SECTION.match(line)
        setting = _SETTING.match(line)
        if section:
            _flush_notes(sections, preamble, comment)
            sections.append(Section(title=section["title"].strip()))
            comment = []
        elif setting and sections:
            groups = sections[-1].groups
            if comment or not groups:
                groups.append(Group(comment=comment))
            groups[-1].settings.append((setting["name"], setting["value"]))
            comment = []
        elif line.startswith("#"):
            comment.append(line[1:].strip())
        elif not line.strip():
            _flush_notes(sections, preamble, comment)
            comment = []
    return preamble, sections


def _flush_notes(sections: list[Section], preamble: list[str], comment: list[str]) -> None:
    if comment:
        (sections[-1].notes if sections else preamble).extend(comment)


def _cell(text: str) -> str:
    """Text safe in a table cell: pipes escaped, ``<placeholders>`` shown, not read as HTML."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _value(value: str) -> str:
    return f"`{value.replace('|', chr(92) + '|')}`" if value else "*(default)*"


def render(text: str) -> str:
    """Markdown: one table per section (setting, value in .env.example, meaning)."""
    preamble, sections = parse(text)
    out = [" ".join(preamble), ""] if preamble else []
    for section in sections:
        out += [f"## {section.title}", "", "| Setting | In `.env.example` | Meaning |", "|---|---|---|"]
        for group in section.groups:
            names = "<br>".join(f"`{name}`" for name, _ in group.settings)
            values = "<br>".join(_value(value) for _, value in group.settings)
            out.append(f"| {names} | {values} | {_cell(' '.join(group.comment))} |")
        if section.notes:
            out += ["", " ".join(section.notes)]
        out.append("")
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Fill the marker of the settings page with the tables of today's ``.env.example``."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render((ROOT / ".env.example").read_text()))
