"""The dashboard (staff who may view runs): loads and quarantine rate per day, per source and per
file-name pattern, the top failing rules, each source's latest run. Charts by Chart.js, served from
our static files; their data in the page as JSON (``json_script``), one SQL aggregate per chart."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from console import dashboard_data as data
from console.access import RUNS_VIEW, staff_view
from console.pages import page
from ingestion.run_display import status_badge, time_shown

CHART_JS_VERSION = "4.6.1"
DEFAULT_DAYS = 30
MAX_DAYS = 366
RANGE_TOO_LONG = f"choose at most {MAX_DAYS} days"
RANGE_REVERSED = "the first day is after the last day"
RANGE_TOO_LATE = "choose a last day before 9999-12-31"
BAD_REQUEST_TITLE = "Dashboard: the range is not valid"


class RangeForm(forms.Form):
    """``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (both optional: the last 30 days up to today)."""

    start = forms.DateField(required=False, input_formats=["%Y-%m-%d"], label="from")
    end = forms.DateField(required=False, input_formats=["%Y-%m-%d"], label="to")

    def span(self) -> data.Span:
        end: date = self.cleaned_data.get("end") or timezone.localdate()
        # The default start is 30 days back, or the calendar's first day (to=0001-01-01 was a 500).
        back = min(DEFAULT_DAYS - 1, (end - date.min).days)
        start: date = self.cleaned_data.get("start") or end - timedelta(days=back)
        return data.Span(first=start, last=end)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        span = self.span()
        if span.last >= date.max:  # the range ends the next midnight: beyond the calendar
            raise forms.ValidationError(RANGE_TOO_LATE)
        if span.first > span.last:
            raise forms.ValidationError(RANGE_REVERSED)
        if (span.last - span.first).days + 1 > MAX_DAYS:
            raise forms.ValidationError(RANGE_TOO_LONG)
        return cleaned


def _range_form(request: HttpRequest) -> RangeForm:
    # The URL says from/to; a form field cannot be called "from" in Python.
    return RangeForm({"start": request.GET.get("from", ""), "end": request.GET.get("to", "")})


def _errors(form: RangeForm) -> list[str]:
    named = [
        f"{form.fields[name].label}: {' '.join(str(e) for e in errors)}"
        for name, errors in form.errors.items()
        if name != "__all__"
    ]
    return [*named, *form.non_field_errors()]


@staff_view(RUNS_VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    """Staff who may view runs. A bad range is a 400 page that says what is wrong (never a 500)."""
    form = _range_form(request)
    if not form.is_valid():
        return page(
            request,
            "console/dashboard.html",
            title=BAD_REQUEST_TITLE,
            status=400,
            errors=_errors(form),
            form=form,
        )
    span = form.span()
    charts = {
        "days": data.per_day(span),
        "sources": data.per_source(span),
        "patterns": data.per_pattern(span),
        "rules": data.top_rules(span),
    }
    latest = [
        {"run": run, "badge": status_badge(run), "started": time_shown(run.started_at)}
        for run in data.latest_per_source()
    ]
    return page(
        request,
        "console/dashboard.html",
        title="Dashboard",
        form=form,
        span=span,
        charts=charts,
        latest=latest,
        chart_js_version=CHART_JS_VERSION,
        pattern_rule=data.PATTERN_DIGITS,
    )
