"""Rendering a console page in the admin's look (its header, sidebar and theme)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def page(
    request: HttpRequest, template: str, *, title: str, status: int = 200, **context: Any
) -> HttpResponse:
    """``template`` with the admin site's context (sidebar, user tools, theme) and ``title``."""
    return TemplateResponse(
        request, template, {**admin.site.each_context(request), "title": title, **context}, status=status
    )


def message_page(request: HttpRequest, *, title: str, message: str, status: int) -> HttpResponse:
    """A page that says, in one line, what was wrong with the request (never a 5xx)."""
    return page(request, "console/message.html", title=title, message=message, status=status)
