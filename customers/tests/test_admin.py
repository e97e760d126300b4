"""Customer admin: read-only (the ETL is the only writer); its search is the API's indexed search plus
the exact customer id."""

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


def test_customers_cannot_be_added_changed_or_deleted_in_the_admin(staff: Client) -> None:
    customer = customer_build(customer_id="KEEP1", last_name="Kept")
    customer.save()
    assert staff.get("/admin/customers/customer/add/").status_code == 403
    change = staff.post(f"/admin/customers/customer/{customer.pk}/change/", {"last_name": "Changed"})
    assert change.status_code == 403
    assert staff.post(f"/admin/customers/customer/{customer.pk}/delete/", {"post": "yes"}).status_code == 403
    customer.refresh_from_db()
    assert customer.last_name == "Kept"


def test_a_customer_page_is_read_only_with_a_link_to_its_run(staff: Client) -> None:
    customer = customer_build(customer_id="SEE1")
    customer.save()
    page = staff.get(f"/admin/customers/customer/{customer.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="_save"' not in body
    assert "/admin/etl/ingestionrun/loaded/?file=" in body


def test_customers_admin_is_for_staff_only(db: None, client: Client, django_user_model: Any) -> None:
    client.force_login(django_user_model.objects.create_user(username="u", password="pw-not-staff-1"))
    response = client.get("/admin/customers/customer/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
