"""Staff without a page's permission get a 403 page in the admin's look that names what they lack."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse


def test_staff_without_the_view_permission_are_told_what_they_lack_and_which_role_has_it(
    staff_without_permissions: Client,
) -> None:
    response = staff_without_permissions.get(reverse("console:dashboard"))
    assert response.status_code == 403
    text = response.content.decode()
    assert "site-name" in text  # the admin's header, sidebar and user tools, not a bare "403 Forbidden"
    assert "Your account (bare) lacks" in text
    assert "(etl.view_ingestionrun)" in text
    assert "Can view ingestion run" in text
    # Not uploaders: their etl.view_own_ingestionrun is for the API, and their own uploads only.
    assert "role operators (group etl-operators)." in text


def test_staff_who_may_view_but_not_upload_are_pointed_at_the_uploaders_role(viewer: Client) -> None:
    response = viewer.get(reverse("console:upload"))
    assert response.status_code == 403
    text = response.content.decode()
    assert "(etl.upload_file)" in text
    assert "role uploaders (group etl-uploaders)" in text
    assert "operators" not in text.split("lacks", 1)[1]


@pytest.mark.parametrize("name", ["console:run-report", "console:quarantine-csv"])
def test_a_403_page_never_shows_the_run_it_guards(staff_without_permissions: Client, name: str) -> None:
    response = staff_without_permissions.get(reverse(name, args=[1]))
    assert response.status_code == 403
    assert "lacks" in response.content.decode()
