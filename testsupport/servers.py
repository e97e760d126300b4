"""Real servers on 127.0.0.1 for the source and alert tests (no mocks).

- :class:`SftpServer`: asyncssh SFTP in a background thread, password and key
  auth, its own host key, optionally cutting the channel after N bytes.
- :class:`HttpRecorder`: an HTTP server that records every request (Slack
  webhooks, Sentry envelopes) and answers with a configurable status.
- :class:`SmtpServer`: aiosmtpd, keeping every message it receives.
- :func:`free_port`: a port nothing listens on (for "server down" cases).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import asyncssh
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --- SFTP -----------------------------------------------------------------------------


@dataclass
class SftpServerState:
    username: str
    password: str
    client_key: asyncssh.SSHKey | None
    drop_after_bytes: int = 0
    drops_remaining: int = 0
    drops_done: int = 0
    served_since_open: int = 0
    logins: list[str] = field(default_factory=list)
    failed_logins: int = 0
    opened: list[str] = field(default_factory=list)


class _Auth(asyncssh.SSHServer):
    def __init__(self, state: SftpServerState) -> None:
        self.state = state

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        ok = username == self.state.username and password == self.state.password
        self._record(username, ok)
        return ok

    def public_key_auth_supported(self) -> bool:
        return self.state.client_key is not None

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        expected = self.state.client_key
        ok = (
            username == self.state.username
            and expected is not None
            and key.public_data == expected.public_data
        )
        self._record(username, ok)
        return ok

    def _record(self, username: str, ok: bool) -> None:
        if ok:
            self.state.logins.append(username)
        else:
            self.state.failed_logins += 1


class _DroppingSftp(asyncssh.SFTPServer):
    """Serves files from a chroot; closes the channel mid-transfer while drops remain."""

    def __init__(self, chan: asyncssh.SSHServerChannel, *, root: Path, state: SftpServerState) -> None:
        super().__init__(chan, chroot=str(root).encode())
        self.state = state
        self.dropped = False

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        self.state.opened.append(path.decode())
        self.state.served_since_open = 0
        return super().open(path, pflags, attrs)

    def read(self, file_obj: object, offset: int, size: int) -> bytes:
        data = super().read(file_obj, offset, size)
        assert isinstance(data, bytes)
        state = self.state
        if self.dropped:  # requests already queued when the channel closed: never delivered
            return b""
        if state.drops_remaining > 0:
            state.served_since_open += len(data)
            if state.served_since_open >= state.drop_after_bytes:
                state.drops_remaining -= 1
                state.drops_done += 1
                self.dropped = True
                self.channel.close()
        return data


class SftpServer:
    """An SFTP server on 127.0.0.1:<random port> serving ``root``."""

    def __init__(
        self,
        root: Path,
        *,
        username: str = "partner",
        password: str = "correct horse battery staple",  # noqa: S107 (test server)
        client_key: asyncssh.SSHKey | None = None,
    ) -> None:
        self.root = root
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.state = SftpServerState(username=username, password=password, client_key=client_key)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._acceptor: asyncssh.SSHAcceptor | None = None

    @property
    def username(self) -> str:
        return self.state.username

    @property
    def password(self) -> str:
        return self.state.password

    @property
    def fingerprint(self) -> str:
        """OpenSSH-style ``SHA256:...``, as ``ssh-keygen -lf`` prints it."""
        return str(self.host_key.get_fingerprint("sha256"))

    def known_hosts_line(self) -> str:
        public = self.host_key.export_public_key("openssh").decode().strip()
        return f"[{HOST}]:{self.port} {public}\n"

    def drop_next_transfers(self, *, after_bytes: int, times: int = 1) -> None:
        self.state.drop_after_bytes = after_bytes
        self.state.drops_remaining = times

    def start(self) -> SftpServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self._acceptor = future.result(timeout=30)
        self.port = int(self._acceptor.sockets[0].getsockname()[1])
        return self

    async def _listen(self) -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            HOST,
            0,
            server_host_keys=[self.host_key],
            server_factory=lambda: _Auth(self.state),
            sftp_factory=lambda chan: _DroppingSftp(chan, root=self.root, state=self.state),
            allow_scp=False,
            login_timeout=30,
        )

    def stop(self) -> None:
        if self._acceptor is not None:
            acceptor = self._acceptor

            async def close() -> None:
                acceptor.close()
                await acceptor.wait_closed()

            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()


# --- HTTP -----------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def envelope_items(self) -> list[tuple[dict[str, Any], Any]]:
        """A Sentry envelope: a header line, then (item header, payload) pairs."""
        lines = self.body.split(b"\n")
        items: list[tuple[dict[str, Any], Any]] = []
        index = 1
        while index + 1 < len(lines):
            header = json.loads(lines[index])
            payload = lines[index + 1]
            items.append((header, json.loads(payload) if payload.startswith(b"{") else payload))
            index += 2
        return items


class HttpRecorder:
    """Records requests; answers ``status`` (200 by default) with ``ok``."""

    def __init__(self, *, status: int = 200) -> None:
        self.status = status
        self.requests: list[RecordedRequest] = []
        self.received = threading.Condition()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = RecordedRequest("POST", self.path, dict(self.headers.items()), body)
                self.send_response(recorder.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if recorder.status < 400 else b"error")
                with recorder.received:
                    recorder.requests.append(request)
                    recorder.received.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_for(self, count: int, *, timeout: float = 10) -> list[RecordedRequest]:
        with self.received:
            self.received.wait_for(lambda: len(self.requests) >= count, timeout=timeout)
            return list(self.requests)

    def start(self) -> HttpRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=30)


# --- SMTP -----------------------------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = _Inbox()
        self.port = free_port()
        self._controller = Controller(self.inbox, hostname=HOST, port=self.port)

    @property
    def messages(self) -> list[tuple[list[str], Message]]:
        return self.inbox.messages

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


# --- TCP proxies: one that cuts a transfer, one slow to connect -------------------------


class _Proxy:
    """A listener on 127.0.0.1:<port> whose accept loop runs in a thread until :meth:`stop`;
    each accepted connection goes to :meth:`_accepted`."""

    def __init__(self) -> None:
        self._listener = socket.create_server((HOST, 0))
        self.port = int(self._listener.getsockname()[1])
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        _close(self._listener)  # shutdown() is what wakes the thread blocked in accept()
        self._thread.join(timeout=10)

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._accepted(client)

    def _accepted(self, client: socket.socket) -> None:
        raise NotImplementedError


class CuttingProxy(_Proxy):
    """Forwards 127.0.0.1:<port> to ``upstream``; cuts a response mid-body on demand.

    After :meth:`cut_next`, the next connection whose request starts with
    ``match`` (e.g. ``b"GET /bucket/big.csv"``) is closed once ``after_bytes``
    of the answer have gone through: the client sees a connection dropped
    in the middle of the download.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        super().__init__()
        self.upstream = upstream
        self.match = b""
        self.after_bytes = 0
        self.cuts_remaining = 0
        self.cuts_done = 0
        self._lock = threading.Lock()

    def cut_next(self, *, match: bytes, after_bytes: int, times: int = 1) -> None:
        with self._lock:
            self.match, self.after_bytes, self.cuts_remaining = match, after_bytes, times

    def _accepted(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream, timeout=30)
        armed = threading.Event()
        threading.Thread(target=self._requests, args=(client, upstream, armed), daemon=True).start()
        threading.Thread(target=self._responses, args=(upstream, client, armed), daemon=True).start()

    def _requests(self, src: socket.socket, dst: socket.socket, armed: threading.Event) -> None:
        try:
            while data := src.recv(65536):
                with self._lock:
                    if self.cuts_remaining > 0 and self.match and data.startswith(self.match):
                        self.cuts_remaining -= 1
                        armed.set()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src, dst)

    def _responses(self, src: socket.socket, dst: socket.socket, armed: threading.Event) -> None:
        sent_since_armed = 0
        try:
            while data := src.recv(65536):
                if armed.is_set():
                    room = self.after_bytes - sent_since_armed
                    if len(data) >= room:
                        dst.sendall(data[:room])
                        with self._lock:
                            self.cuts_done += 1
                        return
                    sent_since_armed += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src, dst)


class SlowProxy(_Proxy):
    """Forwards 127.0.0.1:<port> to ``upstream`` (a Unix socket's path, or host and port);
    every connection after the first ``fast`` ones is held ``delay`` seconds before it is
    forwarded: a database that is slow to accept new connections. ``connections`` counts
    the connections accepted so far."""

    def __init__(self, upstream: str | tuple[str, int], *, fast: int, delay: float) -> None:
        super().__init__()
        self.upstream, self.fast, self.delay = upstream, fast, delay
        self.connections = 0

    def _accepted(self, client: socket.socket) -> None:
        self.connections += 1
        slow = self.connections > self.fast
        threading.Thread(target=self._forward, args=(client, slow), daemon=True).start()

    def _connect(self) -> socket.socket:
        if isinstance(self.upstream, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.upstream)
            return sock
        return socket.create_connection(self.upstream, timeout=30)

    def _forward(self, client: socket.socket, slow: bool) -> None:
        if slow and self._stopped.wait(self.delay):
            _close(client)
            return
        try:
            upstream = self._connect()
        except OSError:
            _close(client)
            return
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        _close(src, dst)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
