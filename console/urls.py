"""The operator console under /console/ (issue #15). Each view says who may call it (console.access)."""

from django.urls import path

from console import dashboard, report, upload

app_name = "console"
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("upload/", upload.upload, name="upload"),
    path("runs/<int:run_id>/", report.run_report, name="run-report"),
    path("runs/<int:run_id>/quarantine.csv", report.quarantine_csv, name="quarantine-csv"),
]
