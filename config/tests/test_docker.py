from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_declares_db_redis_and_web() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"db", "redis", "web"} <= set(services)
    assert services["db"]["image"].startswith("postgres:16")
    assert "healthcheck" in services["db"]
    assert services["web"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pgdata" in compose["volumes"]


def test_compose_uses_the_same_setting_names_as_env_example() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    example = (ROOT / ".env.example").read_text()
    for name in compose["services"]["web"]["environment"]:
        assert f"{name}=" in example, f"{name} is not documented in .env.example"


def test_dockerfile_runs_gunicorn_as_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "\nUSER app" in dockerfile
    assert "gunicorn" in dockerfile


def test_compose_worker_polls_the_seeded_sftp_service_on_a_schedule_independently_of_web() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    worker, sftp, web = services["worker"], services["sftp"], services["web"]
    assert "exec python manage.py worker" in worker["command"]
    assert worker["environment"]["INGEST_SCHEDULE"].startswith("${INGEST_SCHEDULE:-sftp=")
    assert "web" not in worker["depends_on"]
    assert worker["environment"]["SFTP_HOST"] == "sftp"
    assert worker["environment"]["SFTP_KNOWN_HOSTS"].startswith("/sftp-trust/")
    # Uploads accepted by web wait in a volume the worker reads.
    assert "uploads:/app/.data/uploads" in worker["volumes"]
    assert any(v.startswith("uploads:/app/.data/uploads") for v in web["volumes"])
    assert "uploads" in compose["volumes"]
    assert sftp["image"].startswith("atmoz/sftp")
    assert any(v.startswith("./scripts/downloads/customers-100.csv:") for v in sftp["volumes"])
    example = (ROOT / ".env.example").read_text()
    for name in worker["environment"]:
        assert f"{name}=" in example, f"{name} is not documented in .env.example"


def test_the_image_never_holds_the_local_env_file_and_runs_with_debug_off() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".data/", ".venv/"} <= set(ignored)
    dockerfile = (ROOT / "Dockerfile").read_text()
    env_block = dockerfile[dockerfile.index("\nENV ") : dockerfile.index("\nWORKDIR")]
    assert "DEBUG=false" in env_block


def test_compose_web_is_set_up_by_migrate_alone() -> None:
    web = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]
    assert "manage.py migrate --noinput" in web["command"]
    assert "createcachetable" not in web["command"]


def test_the_image_compiles_the_project_once_as_no_process_writes_bytecode() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    env_block = dockerfile[dockerfile.index("\nENV ") : dockerfile.index("\nWORKDIR")]
    assert "PYTHONDONTWRITEBYTECODE=1" in env_block
    compile_step = dockerfile.index("python -m compileall -q /app")
    assert dockerfile.index("COPY . .") < compile_step < dockerfile.index("\nUSER app")
