"""Where a newcomer lands: ``/``, ``/api/`` and the admin's "View site" all reach the API docs."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from config.urls import API_NOT_FOUND

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


@pytest.mark.parametrize("path", ["/api/nothing/", "/api/ingestion-runs/1.5/", "/api/customers/a/b/"])
def test_an_unknown_api_path_is_a_404_in_json(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": API_NOT_FOUND}


def test_an_unknown_path_elsewhere_keeps_djangos_page(client: Client) -> None:
    response = client.get("/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_a_write_to_the_api_root_is_a_405_not_a_csrf_page(method: str) -> None:
    response = getattr(Client(enforce_csrf_checks=True), method)("/api/")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
