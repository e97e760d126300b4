"""Customer admin: its search is the API's indexed search plus the exact customer id."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from customers.tests.factories import customer_build


@pytest.fixture
def staff(db: None, admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    ("term", "found"), [("quimb", True), ("ZQ@won", True), ("CUSTX1", True), ("zz", False)]
)
def test_admin_search_uses_the_api_search_and_exact_id(staff: Client, term: str, found: bool) -> None:
    customer_build(customer_id="CUSTX1", last_name="Quimby", email="zq@wonder.example").save()
    customer_build(customer_id="OTHER", last_name="Stone").save()
    response = staff.get("/admin/customers/customer/", {"q": term})
    assert response.status_code == 200
    assert (b"CUSTX1" in response.content) is found
    assert b"OTHER" not in response.content
