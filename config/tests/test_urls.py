"""Where a newcomer lands: ``/``, ``/api/`` and the admin's "View site" all reach the API docs."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db  # the docs are throttled: counters in the database cache


@pytest.mark.parametrize("start", ["/", "/api/"])
def test_the_root_and_the_api_root_redirect_to_the_api_docs(client: Client, start: str) -> None:
    response = client.get(start)
    assert (response.status_code, response["Location"]) == (302, "/api/docs/")
    assert client.get(response["Location"]).status_code == 200


def test_the_admins_view_site_link_lands_on_the_api_docs(admin_client: Client) -> None:
    page = admin_client.get("/admin/").content.decode()
    link = re.search(r'<a href="([^"]+)">View site</a>', page)
    assert link is not None
    landed = admin_client.get(link[1], follow=True)
    assert (landed.status_code, landed.redirect_chain[-1][0]) == (200, "/api/docs/")
