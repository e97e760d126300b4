"""Argument types shared by the management commands (argparse's one-line errors, exit 2)."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An integer >= 1 (``0`` or a negative number once meant "the setting's value" silently)."""
    number = int(text) if text.strip().lstrip("+").isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, not {text!r}")
    return number
