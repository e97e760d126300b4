from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The operator console (issue #15): run reports, the dashboard, the upload form, in the admin's look."""

    name = "console"
    verbose_name = "Operator console"

    def ready(self) -> None:
        """Every admin's date hierarchy answers any URL without a 500, third-party admins' too.

        django.contrib.admin discovered the admins in its own ``ready``, which ran before this one.
        """
        from django.contrib import admin

        from common.admin import date_hierarchies_bound

        date_hierarchies_bound(admin.site)
