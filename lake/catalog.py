"""The Iceberg catalog: pyiceberg's SQL catalog in our PostgreSQL unless configured otherwise.

The SQL catalog keeps its two tables in their own PostgreSQL schema
(``LAKE_CATALOG_SCHEMA``) of the database Django uses, so Spark, DuckDB or
Trino can share it through any JDBC/SQL catalog. Any property can be
overridden with pyiceberg's standard variables
(``PYICEBERG_CATALOG__LAKE__URI=...``), which also select a REST, Glue or Hive
catalog (``LAKE_CATALOG_TYPE``).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from django.db import connections
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.utils.config import Config
from sqlalchemy import URL

from lake.config import NAMESPACE, LakeConfig

ERR_CATALOG_URI = "LAKE_CATALOG_URI: required for a {kind} catalog"

_lock = threading.Lock()
_catalogs: dict[tuple[tuple[str, str], ...], Catalog] = {}


def django_database_url(*, alias: str = "default", schema: str = "") -> str:
    """SQLAlchemy URL (psycopg 3 driver) of Django's database, the test database under tests."""
    return database_url(connections[alias].settings_dict, schema=schema)


def database_url(params: dict[str, Any], *, schema: str = "") -> str:
    """SQLAlchemy URL of a Django database settings dict (embedded server: its socket directory)."""
    query: dict[str, str] = {}
    host: str | None = params.get("HOST") or None
    port = int(params.get("PORT") or 5432)
    user: str | None = params.get("USER") or None
    if params["ENGINE"] == "config.embedded_pg":
        from config.embedded_pg import ensure_server

        options = params["OPTIONS"]
        server = ensure_server(options["embedded_pgdata"], options.get("embedded_settings"))
        host, port, user = server.socket_dir, server.port, user or server.user
    if host and host.startswith("/"):
        # A Unix-socket directory goes in the query; libpq derives the socket name from the port.
        query["host"], query["port"], host = host, str(port), None
    if schema:
        query["options"] = f"-csearch_path={schema}"
    url = URL.create(
        "postgresql+psycopg",
        username=user,
        password=params.get("PASSWORD") or None,
        host=host,
        port=None if "port" in query else port,
        database=params["NAME"],
        query=query,
    )
    return url.render_as_string(hide_password=False)


def _ensure_schema(url: str, schema: str, *, alias: str = "default") -> None:
    """The catalog's schema, created when missing. Looked up on Django's connection (no engine
    and connection of its own on every process's first lake step); created, rarely, through an
    engine of its own that commits at once, so the catalog's connection sees it whatever
    transaction Django's connection is in."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        if cursor.fetchone() is not None:
            return
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    engine = create_engine(url)
    try:
        with engine.begin() as conn, contextlib.suppress(IntegrityError, ProgrammingError):
            # Another process may create it at the same moment: either way it exists after.
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    finally:
        engine.dispose()


def catalog_properties(config: LakeConfig) -> dict[str, str]:
    """Our defaults, overridden by pyiceberg's own configuration (env, ~/.pyiceberg.yaml)."""
    props: dict[str, str] = {"type": config.catalog_type, "warehouse": config.warehouse}
    if config.catalog_uri:
        props["uri"] = config.catalog_uri
    elif config.catalog_type == "sql":
        props["uri"] = django_database_url(schema=config.catalog_schema)
    if config.is_s3:
        s3 = config.s3
        props["s3.region"] = s3.get("region") or "us-east-1"
        if s3.get("endpoint"):
            props["s3.endpoint"] = s3["endpoint"]
        if s3.get("access_key_id"):
            props["s3.access-key-id"] = s3["access_key_id"]
            props["s3.secret-access-key"] = s3.get("secret_access_key", "")
        if s3.get("session_token"):
            props["s3.session-token"] = s3["session_token"]
    overrides: Any = Config().get_catalog_config(config.catalog_name) or {}
    props.update({str(k): str(v) for k, v in overrides.items()})
    if props["type"] != "sql" and "uri" not in props and props["type"] in ("rest", "hive"):
        raise ValueError(ERR_CATALOG_URI.format(kind=props["type"]))
    return props


def lake_catalog(config: LakeConfig) -> Catalog:
    """The catalog for ``config`` (one per process and configuration), with the namespace created."""
    props = catalog_properties(config)
    key = (("name", config.catalog_name), *sorted(props.items()))
    with _lock:
        if key in _catalogs:
            return _catalogs[key]
        if (
            props["type"] == "sql"
            and not config.catalog_uri
            and "uri" not in (Config().get_catalog_config(config.catalog_name) or {})
        ):
            _ensure_schema(props["uri"], config.catalog_schema)
        catalog = load_catalog(config.catalog_name, **props)
        catalog.create_namespace_if_not_exists(NAMESPACE)
        _catalogs[key] = catalog
        return catalog


def lake_catalogs_close() -> None:
    """Release the catalogs' database connections (before a test database is dropped)."""
    with _lock:
        for catalog in _catalogs.values():
            close = getattr(catalog, "close", None)
            if close is not None:
                close()
        _catalogs.clear()
