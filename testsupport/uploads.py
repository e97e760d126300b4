"""Uploading over real HTTP (``POST /api/ingestions/``) from the tests that run ``make run`` or a server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

FINAL = ("succeeded", "rejected", "failed", "skipped")


def multipart(fields: dict[str, str], *, name: str, data: bytes) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body holding ``fields`` and the file ``name``, and its content type."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
    parts.append(head.encode() + b"Content-Type: text/csv\r\n\r\n" + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def http_upload(
    base: str, token: str, *, name: str, data: bytes, **fields: str
) -> tuple[int, dict[str, Any], str]:
    """POST the file; (status, JSON body, Location header)."""
    body, content_type = multipart(fields, name=name, data=data)
    request = urllib.request.Request(  # noqa: S310 (the test's own server)
        f"{base}/api/ingestions/",
        data=body,
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read()), response.headers.get("Location", "")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), ""


def http_run(base: str, token: str, location: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310
        f"{base}{location}", headers={"Authorization": f"Token {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return dict(json.loads(response.read()))
