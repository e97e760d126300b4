"""The admin's upload form (staff who may upload and view runs): the API's options, then the run's
report page, which refreshes until the run ends. The file is accepted by ``accept_upload``, as
through ``POST /api/ingestions/``: stored, queued, ingested by a worker."""

from __future__ import annotations

import structlog
from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from console.access import RUNS_VIEW, UPLOAD_FILE, staff_view
from console.pages import page
from ingestion.uploads import UploadError, UploadOptions, UploadTooLarge, accept_upload

log = structlog.get_logger("etl.uploads")
TITLE = "Upload a file to ingest"


class UploadForm(forms.Form):
    file = forms.FileField(help_text="A .csv or .json file, up to UPLOAD_MAX_BYTES.")
    dry_run = forms.BooleanField(required=False, help_text="Read, check and report; change no customer.")
    warn_above = forms.FloatField(
        required=False,
        min_value=0,
        max_value=100,
        help_text="Percent of invalid records above which the run warns.",
    )
    reject_above = forms.FloatField(
        required=False,
        min_value=0,
        max_value=100,
        help_text="Percent of invalid records above which the whole file is rejected.",
    )

    def options(self) -> UploadOptions:
        return UploadOptions(
            dry_run=self.cleaned_data["dry_run"],
            warn_above=self.cleaned_data["warn_above"],
            reject_above=self.cleaned_data["reject_above"],
        )


def _refused(request: HttpRequest, form: UploadForm, *, problem: str, status: int) -> HttpResponse:
    # Every refusal is one line for the user and one audit line (who, what was wrong).
    log.warning(
        "upload.refused", user=request.user.get_username(), status=status, problem=problem, via="admin"
    )
    return page(request, "console/upload.html", title=TITLE, form=form, status=status)


@staff_view(UPLOAD_FILE, RUNS_VIEW)
def upload(request: HttpRequest) -> HttpResponse:
    """Staff holding ``etl.upload_file`` and ``etl.view_ingestionrun`` (roles uploaders and operators)."""
    if request.method != "POST":
        return page(request, "console/upload.html", title=TITLE, form=UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        problem = "; ".join(
            f"{name}: {' '.join(str(e) for e in errors)}" for name, errors in form.errors.items()
        )
        return _refused(request, form, problem=problem, status=400)
    try:
        run = accept_upload(form.cleaned_data["file"], options=form.options(), user=request.user)
    except UploadError as exc:
        form.add_error("file" if not isinstance(exc, UploadTooLarge) else None, str(exc))
        return _refused(
            request, form, problem=str(exc), status=413 if isinstance(exc, UploadTooLarge) else 400
        )
    return HttpResponseRedirect(reverse("console:run-report", args=[run.pk]))
