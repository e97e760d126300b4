from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The operator console (issue #15): run reports, the dashboard, the upload form, in the admin's look."""

    name = "console"
    verbose_name = "Operator console"
