"""SFTP source against a real asyncssh SFTP server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from dataflow.sources.base import AuthenticationError, FetchError, HostKeyError, SourceError
from dataflow.sources.remote import RETRIES_EXHAUSTED
from dataflow.sources.sftp import (
    AUTH_FAILED,
    HOST_KEY_CHANGED,
    HOST_KEY_UNKNOWN,
    REMOTE_NOT_FOUND,
    SFTP_NO_HOST_TRUST,
    SftpConfig,
    SftpSource,
)
from testsupport.fixtures import SAMPLE_CSV
from testsupport.servers import HOST, SftpServer, free_port

pytestmark = pytest.mark.usefixtures("fast_retries")

# paramiko's read-ahead thread dies with the connection the server cuts (its own
# thread, after our download has already seen the error and retried).
DROPPED_PREFETCH = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


def config_for(server: SftpServer, known_hosts: Path | str, **changes: Any) -> SftpConfig:
    config = SftpConfig(
        host=HOST,
        port=server.port,
        username=server.username,
        password=server.password,
        remote_dir="inbox",
        known_hosts=str(known_hosts),
        pattern="*.csv,*.json",
    )
    return dataclasses.replace(config, **changes)


def retry_events(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == event]


def test_lists_only_regular_files_matching_the_pattern(
    sftp_server: SftpServer, sftp_known_hosts: Path, sftp_root: Path
) -> None:
    (sftp_root / "inbox" / "notes.txt").write_text("not a partner file")
    (sftp_root / "inbox" / ".uploading.csv").write_text("a,b\n")
    (sftp_root / "inbox" / "old.csv").mkdir()  # a folder, even with a matching name

    files = SftpSource(config_for(sftp_server, sftp_known_hosts)).list_files()

    assert [(f.name, f.size) for f in files] == [(SAMPLE_CSV.name, SAMPLE_CSV.stat().st_size)]
    assert files[0].modified is not None


def test_downloads_a_file_byte_for_byte_with_password_auth(
    sftp_server: SftpServer, sftp_known_hosts: Path, tmp_path: Path
) -> None:
    path = SftpSource(config_for(sftp_server, sftp_known_hosts)).fetch(SAMPLE_CSV.name, tmp_path / "work")

    assert path == tmp_path / "work" / SAMPLE_CSV.name
    assert path.read_bytes() == SAMPLE_CSV.read_bytes()
    assert os.listdir(tmp_path / "work") == [SAMPLE_CSV.name]


@pytest.mark.filterwarnings("ignore:.*bcrypt.kdf:UserWarning")
def test_downloads_with_an_encrypted_private_key(
    sftp_server: SftpServer, sftp_known_hosts: Path, sftp_client_key: asyncssh.SSHKey, tmp_path: Path
) -> None:
    key_path = tmp_path / "id_ed25519"
    key_path.write_bytes(sftp_client_key.export_private_key("openssh", passphrase="key passphrase", rounds=4))
    config = config_for(
        sftp_server, sftp_known_hosts, password="", key_path=str(key_path), key_passphrase="key passphrase"
    )

    path = SftpSource(config).fetch(SAMPLE_CSV.name, tmp_path / "work")

    assert path.read_bytes() == SAMPLE_CSV.read_bytes()
    assert sftp_server.state.logins == [sftp_server.username]


def test_wrong_password_fails_at_once_without_retries(
    sftp_server: SftpServer, sftp_known_hosts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = SftpSource(config_for(sftp_server, sftp_known_hosts, password="wrong-password-123"))

    with pytest.raises(AuthenticationError) as excinfo:
        source.list_files()

    assert str(excinfo.value) == AUTH_FAILED.format(target=source.target, username=sftp_server.username)
    assert sftp_server.state.failed_logins == 1
    assert retry_events(caplog, "retry.attempt_failed") == []
    assert "wrong-password-123" not in caplog.text


def test_unknown_host_key_is_refused_before_any_login(sftp_server: SftpServer, tmp_path: Path) -> None:
    empty_known_hosts = tmp_path / "empty_known_hosts"
    empty_known_hosts.write_text("")
    source = SftpSource(config_for(sftp_server, empty_known_hosts))

    with pytest.raises(HostKeyError) as excinfo:
        source.list_files()

    assert str(excinfo.value) == HOST_KEY_UNKNOWN.format(
        target=source.target, fingerprint=sftp_server.fingerprint, key_type="ssh-ed25519"
    )
    assert sftp_server.state.logins == []
    assert sftp_server.state.failed_logins == 0


def test_changed_host_key_is_refused(sftp_server: SftpServer, tmp_path: Path) -> None:
    other_key = asyncssh.generate_private_key("ssh-ed25519")
    known_hosts = tmp_path / "known_hosts_other"
    known_hosts.write_text(
        f"[{HOST}]:{sftp_server.port} {other_key.export_public_key('openssh').decode().strip()}\n"
    )
    source = SftpSource(config_for(sftp_server, known_hosts))

    with pytest.raises(HostKeyError) as excinfo:
        source.list_files()

    assert str(excinfo.value) == HOST_KEY_CHANGED.format(
        target=source.target,
        fingerprint=sftp_server.fingerprint,
        key_type="ssh-ed25519",
        expected=other_key.get_fingerprint("sha256"),
    )
    assert sftp_server.state.logins == []


def test_pinned_fingerprint_replaces_known_hosts(sftp_server: SftpServer) -> None:
    config = config_for(sftp_server, "", host_key_fingerprint=sftp_server.fingerprint)

    assert [f.name for f in SftpSource(config).list_files()] == [SAMPLE_CSV.name]


def test_pinned_fingerprint_of_another_key_is_refused(sftp_server: SftpServer) -> None:
    pinned = asyncssh.generate_private_key("ssh-ed25519").get_fingerprint("sha256")
    source = SftpSource(config_for(sftp_server, "", host_key_fingerprint=pinned))

    with pytest.raises(HostKeyError, match="host key CHANGED"):
        source.list_files()


def test_configuration_without_host_key_trust_is_refused(tmp_path: Path) -> None:
    config = SftpConfig(host=HOST, username="partner", password="secret", known_hosts="")

    with pytest.raises(SourceError) as excinfo:
        SftpSource(config)

    assert str(excinfo.value) == SFTP_NO_HOST_TRUST


def test_password_never_appears_in_the_config_repr() -> None:
    config = SftpConfig(host=HOST, username="partner", password="hunter2-secret", key_passphrase="pp-secret")

    assert "hunter2-secret" not in repr(config)
    assert "pp-secret" not in repr(config)


def test_server_not_listening_is_retried_with_growing_delays_then_fails(
    settings: Any, sftp_known_hosts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings.RETRY_ATTEMPTS = 4
    port = free_port()
    config = SftpConfig(
        host=HOST, port=port, username="partner", password="secret", known_hosts=str(sftp_known_hosts)
    )
    source = SftpSource(config)

    with pytest.raises(FetchError) as excinfo:
        source.list_files()

    assert str(excinfo.value).startswith(
        RETRIES_EXHAUSTED.format(target=source.target, operation="list", attempts=4, error="")
    )
    attempts = retry_events(caplog, "retry.attempt_failed")
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    delays = [a["delay"] for a in attempts]
    assert delays == sorted(delays)
    assert delays[0] >= 0.01
    assert delays[-1] >= 0.04
    assert len(retry_events(caplog, "retry.gave_up")) == 1


@DROPPED_PREFETCH
def test_connection_dropped_mid_transfer_is_retried_and_the_file_is_intact(
    sftp_server: SftpServer, sftp_known_hosts: Path, sftp_root: Path, tmp_path: Path
) -> None:
    payload = os.urandom(3 * 1024 * 1024)
    (sftp_root / "inbox" / "big.csv").write_bytes(payload)
    sftp_server.drop_next_transfers(after_bytes=512 * 1024, times=1)

    path = SftpSource(config_for(sftp_server, sftp_known_hosts)).fetch("big.csv", tmp_path / "work")

    assert path.read_bytes() == payload
    assert sftp_server.state.drops_done == 1
    assert sftp_server.state.opened == ["inbox/big.csv", "inbox/big.csv"]
    assert os.listdir(tmp_path / "work") == ["big.csv"]


@DROPPED_PREFETCH
def test_transfer_dropped_on_every_attempt_leaves_no_file(
    sftp_server: SftpServer, sftp_known_hosts: Path, sftp_root: Path, tmp_path: Path
) -> None:
    (sftp_root / "inbox" / "big.csv").write_bytes(os.urandom(2 * 1024 * 1024))
    sftp_server.drop_next_transfers(after_bytes=256 * 1024, times=10)

    with pytest.raises(FetchError, match=r"download big\.csv failed after 3 attempts"):
        SftpSource(config_for(sftp_server, sftp_known_hosts)).fetch("big.csv", tmp_path / "work")

    assert sftp_server.state.drops_done == 3
    assert os.listdir(tmp_path / "work") == []


def test_missing_remote_file_fails_without_retries(
    sftp_server: SftpServer, sftp_known_hosts: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = SftpSource(config_for(sftp_server, sftp_known_hosts))

    with pytest.raises(FetchError) as excinfo:
        source.fetch("absent.csv", tmp_path / "work")

    assert str(excinfo.value) == REMOTE_NOT_FOUND.format(target=source.target, name="absent.csv")
    assert retry_events(caplog, "retry.attempt_failed") == []


def test_a_path_instead_of_a_file_name_is_refused(
    sftp_server: SftpServer, sftp_known_hosts: Path, tmp_path: Path
) -> None:
    with pytest.raises(FetchError, match="not a plain file name"):
        SftpSource(config_for(sftp_server, sftp_known_hosts)).fetch("../etc/passwd", tmp_path)


def test_after_success_move_puts_the_file_in_processed(
    sftp_server: SftpServer, sftp_known_hosts: Path, sftp_root: Path
) -> None:
    source = SftpSource(config_for(sftp_server, sftp_known_hosts, after_success="move"))

    source.after_success(SAMPLE_CSV.name)

    assert not (sftp_root / "inbox" / SAMPLE_CSV.name).exists()
    assert (sftp_root / "inbox" / "processed" / SAMPLE_CSV.name).read_bytes() == SAMPLE_CSV.read_bytes()
    assert source.list_files() == []


def test_after_success_delete_removes_the_remote_file(
    sftp_server: SftpServer, sftp_known_hosts: Path, sftp_root: Path
) -> None:
    SftpSource(config_for(sftp_server, sftp_known_hosts, after_success="delete")).after_success(
        SAMPLE_CSV.name
    )

    assert os.listdir(sftp_root / "inbox") == []


def test_after_success_leave_keeps_the_remote_file(
    sftp_server: SftpServer, sftp_known_hosts: Path, sftp_root: Path
) -> None:
    SftpSource(config_for(sftp_server, sftp_known_hosts, after_success="leave")).after_success(
        SAMPLE_CSV.name
    )

    assert os.listdir(sftp_root / "inbox") == [SAMPLE_CSV.name]


def test_every_attempt_is_logged_without_secrets(
    settings: Any, sftp_known_hosts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    config = SftpConfig(
        host=HOST,
        port=free_port(),
        username="partner",
        password="top-secret-pw",
        known_hosts=str(sftp_known_hosts),
    )

    with pytest.raises(FetchError):
        SftpSource(config).list_files()

    attempts = retry_events(caplog, "retry.attempt_failed")
    assert len(attempts) == settings.RETRY_ATTEMPTS - 1
    assert all(a["target"] == f"sftp://partner@{HOST}:{config.port}/." for a in attempts)
    assert "top-secret-pw" not in caplog.text
