"""Client identity for throttles and the login lockout: X-Forwarded-For only behind declared proxies."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from config.env import parse_networks
from customers.throttles import client_ip


def _ip(remote: str, forwarded: str | None = None) -> str:
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(request)


def test_forwarded_for_is_ignored_without_a_declared_proxy() -> None:
    assert _ip("203.0.113.7", "1.2.3.4") == "203.0.113.7"


@pytest.mark.parametrize(
    ("forwarded", "client"),
    [
        ("198.51.100.1", "198.51.100.1"),
        ("6.6.6.6, 198.51.100.1", "198.51.100.1"),  # what the client wrote is left of our proxy's entry
        ("not-an-address", "10.0.0.2"),
        (None, "10.0.0.2"),
    ],
)
def test_num_proxies_takes_the_address_our_proxy_saw(
    settings: Any, forwarded: str | None, client: str
) -> None:
    settings.NUM_PROXIES = 1
    assert _ip("10.0.0.2", forwarded) == client


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.3", "198.51.100.1"),  # two trusted hops
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # not from a trusted proxy: header ignored
        ("10.0.0.2", "garbage", "10.0.0.2"),
        ("10.0.0.2", "10.0.0.5", "10.0.0.5"),  # only proxies: the farthest one
    ],
)
def test_trusted_proxies_walk_the_header_from_the_right(
    settings: Any, remote: str, forwarded: str, client: str
) -> None:
    settings.TRUSTED_PROXIES = parse_networks("10.0.0.0/8")
    assert _ip(remote, forwarded) == client
