"""Django settings. Every value comes from the environment or ``.env`` (see ``.env.example``).

Read in one place, through :func:`config.env.env`, so a bad value fails at
start-up with one line naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import (
    choice,
    env,
    env_list,
    parse_bool,
    parse_pg_size,
    parse_port,
    parse_positive_float,
    parse_positive_int,
    parse_umask,
)
from config.logging import build_logging_config, parse_level, parse_log_file
from config.paths import BASE_DIR, DATA_DIR

# --- Core -------------------------------------------------------------------

DEBUG: bool = env("DEBUG", "false", parse_bool)

# Set first, before the log file or any folder is made: what this process creates (raw copies of
# partner files, uploads, the lake, the work area, logs) is readable by its own user only by
# default; partner files hold personal data (docs/security.md, Files on disk).
FILE_UMASK: int = env("FILE_UMASK", "077", parse_umask)
os.umask(FILE_UMASK)

_DEV_SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production-0123456789"  # noqa: S105
SECRET_KEY: str = env("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY: required when DEBUG is off "
            "(generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    SECRET_KEY = _DEV_SECRET_KEY
elif not DEBUG and (SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "SECRET_KEY: too weak for production (needs 50+ characters, not 'django-insecure...')"
    )

# Keys being rotated out: what was signed with them (sessions, API cursors, password reset links)
# stays valid while they are listed; everything new is signed with SECRET_KEY (docs/operations.md).
SECRET_KEY_FALLBACKS: list[str] = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS: list[str] = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS: list[str] = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The task queue's tables and migrations (issue #15); before the apps whose tasks it runs.
    "procrastinate.contrib.django",
    "customers",
    "ingestion",
    "lake",
    "console",
]

# The config.middleware.Browser* classes are Django's (WhiteNoise's), skipped on /api/ paths:
# the token-authenticated API has no session, messages or static files (issue #18).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, Swagger UI) served by the app itself under gunicorn.
    "config.middleware.BrowserWhiteNoiseMiddleware",
    "config.middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.middleware.BrowserAuthenticationMiddleware",
    "config.middleware.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# DB_HOST empty => the embedded PostgreSQL (config/embedded_pg) on a Unix socket.

DB_HOST: str = env("DB_HOST", "")
DB_NAME: str = env("DB_NAME", "customers")
_db_options: dict[str, object] = {"connect_timeout": env("DB_CONNECT_TIMEOUT", "5", parse_positive_int)}
# The API's per-request statements whose plan is the same for any parameter value
# (customers/prepared.py) are prepared after this many runs on a connection; the ORM's
# other queries bind on the client and are never prepared. Off for a pooler that cannot
# keep prepared statements (PgBouncer in transaction mode before 1.21).
if env("DB_PREPARED_STATEMENTS", "true", parse_bool):
    _db_options["prepare_threshold"] = 2
if DB_HOST:
    _engine = "django.db.backends.postgresql"
else:
    _engine = "config.embedded_pg"
    _db_options["embedded_pgdata"] = str(
        env("EMBEDDED_PG_DATA", str(DATA_DIR / "postgres"), lambda v: Path(v).expanduser().resolve())
    )
    # The usual tuning of a server that bulk-loads (PostgreSQL's defaults are for a small
    # machine): a buffer cache that holds the customers table's indexes during an upsert, and
    # checkpoints far enough apart that a load does not write each page's full image to the
    # WAL again after every one (docs/database.md).
    _quarter_of_memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4 // 2**20
    _db_options["embedded_settings"] = {
        "shared_buffers": env(
            "EMBEDDED_PG_SHARED_BUFFERS", f"{min(max(_quarter_of_memory, 128), 1024)}MB", parse_pg_size
        ),
        "max_wal_size": env("EMBEDDED_PG_MAX_WAL_SIZE", "4GB", parse_pg_size),
        "checkpoint_timeout": "15min",
    }

DATABASES = {
    "default": {
        "ENGINE": _engine,
        "NAME": DB_NAME,
        "USER": env("DB_USER", "" if not DB_HOST else "postgres"),
        "PASSWORD": env("DB_PASSWORD", ""),
        "HOST": DB_HOST,
        "PORT": env("DB_PORT", "5432", parse_port),
        "CONN_MAX_AGE": env("DB_CONN_MAX_AGE", "60", int),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": _db_options,
        # Parallel test sessions against one server need distinct test databases.
        "TEST": {"NAME": env("DB_TEST_NAME", f"test_{DB_NAME}")},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (shared by all server processes: throttling counters live here) ---

REDIS_URL: str = env("REDIS_URL", "")
# Created by a migration (customers 0004): `migrate` is the whole database set-up.
DATABASE_CACHE_TABLE = "django_cache"
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": DATABASE_CACHE_TABLE,
        }
    }

# --- Auth, i18n, static -----------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Security (production: DEBUG off) ----------------------------------------
# Defaults pass `manage.py check --deploy`; behind a TLS-terminating proxy set
# SECURE_PROXY_SSL_HEADER_ENABLED=true.

SECURE_SSL_REDIRECT: bool = env("SECURE_SSL_REDIRECT", str(not DEBUG), parse_bool)
SESSION_COOKIE_SECURE: bool = env("SESSION_COOKIE_SECURE", str(not DEBUG), parse_bool)
CSRF_COOKIE_SECURE: bool = env("CSRF_COOKIE_SECURE", str(not DEBUG), parse_bool)
SECURE_HSTS_SECONDS: int = env("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000", int)
SECURE_HSTS_INCLUDE_SUBDOMAINS: bool = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD: bool = env("SECURE_HSTS_PRELOAD", str(not DEBUG), parse_bool)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env("SECURE_PROXY_SSL_HEADER_ENABLED", "false", parse_bool):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /healthz is probed over plain HTTP by load balancers and compose.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Logging ------------------------------------------------------------------

LOG_LEVEL: str = env("LOG_LEVEL", "info", parse_level)
LOG_FORMAT: str = env("LOG_FORMAT", "console", choice("console", "json"))
# JSON lines with full tracebacks (never local variables); `off` for none (issue #14).
_DEFAULT_LOG_FILE = str(DATA_DIR / "logs" / "app.jsonl")
LOG_FILE: Path | None = env("LOG_FILE", "", lambda v: parse_log_file(v or _DEFAULT_LOG_FILE))
LOGGING_CONFIG = "logging.config.dictConfig"
LOGGING = build_logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT, log_file=LOG_FILE)

# --- REST API (issue #5) ------------------------------------------------------

from datetime import timedelta  # noqa: E402  (kept inside this section: one edit per issue)


def parse_throttle_rate(value: str) -> str:
    """DRF's rate syntax, checked at start-up: ``<n>/<second|minute|hour|day>`` (first letter is enough)."""
    count, _, period = value.strip().partition("/")
    if not count.isdigit() or int(count) < 1 or not period or period[0] not in "smhd":
        raise ValueError("expected <number>/<second|minute|hour|day>, e.g. 1000/hour")
    return value.strip()


# Throttle rates use DRF's syntax: <number>/<second|minute|hour|day>.
API_THROTTLE_USER: str = env("API_THROTTLE_USER", "1000/hour", parse_throttle_rate)
API_THROTTLE_ANON: str = env("API_THROTTLE_ANON", "100/hour", parse_throttle_rate)
API_THROTTLE_TOKEN: str = env("API_THROTTLE_TOKEN", "10/minute", parse_throttle_rate)
API_TOKEN_TTL_HOURS: int = env("API_TOKEN_TTL_HOURS", "24", parse_positive_int)
# Seconds a worker may keep a token lookup in memory (with Redis only; customers/token_cache.py).
API_TOKEN_CACHE_SECONDS: float = env("API_TOKEN_CACHE_SECONDS", "30", parse_positive_float)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["customers.auth.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # orjson: the bytes DRF's JSONRenderer writes, for a fraction of its cost (issue #18).
    "DEFAULT_RENDERER_CLASSES": ["customers.renderers.OrjsonRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "customers.renderers.FirstRendererNegotiation",
    # A database outage is a JSON 503 with Retry-After, never an HTML 500 (issue #14).
    "EXCEPTION_HANDLER": "customers.exceptions.api_exception_handler",
    # One counter per client and window, shared by every server process: in Redis when
    # CACHES["default"] is django-redis, else in PostgreSQL (customers_throttlecounter).
    "DEFAULT_THROTTLE_CLASSES": [
        "customers.throttles.ApiUserThrottle",
        "customers.throttles.ApiAnonThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": API_THROTTLE_USER,
        "anon": API_THROTTLE_ANON,
        "token_obtain": API_THROTTLE_TOKEN,
    },
}
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS),
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Customer data platform API",
    "DESCRIPTION": "Customers loaded from partner files. Authenticate with "
    "`Authorization: Token <key>` (POST /api/auth/token/ or `manage.py create_api_token USER`).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's assets are served by us (static files), not from a CDN:
    # /api/docs/ works offline and under a strict network policy.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- API contract (issue #18) -------------------------------------------------
# An unknown query parameter is a 400 (customers/query_params.py). These names
# are accepted and ignored on every endpoint (cache-busting "_"); "*" accepts any.
API_IGNORED_QUERY_PARAMS: list[str] = env_list("API_IGNORED_QUERY_PARAMS")

# --- Demo (make run) ----------------------------------------------------------

DJANGO_SUPERUSER_PASSWORD: str = env("DJANGO_SUPERUSER_PASSWORD", "")

# --- ETL: alerts (issue #6) -------------------------------------------------------
# Secrets (webhook URL, password, DSN) are read here and never logged.

INSTALLED_APPS += ["alerts"]

ADMIN_BASE_URL: str = env("ADMIN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
ALERT_TIMEOUT: float = env("ALERT_TIMEOUT", "10", parse_positive_float)
SLACK_WEBHOOK_URL: str = env("SLACK_WEBHOOK_URL", "")
ALERT_EMAILS: list[str] = env_list("ALERT_EMAILS")
EMAIL_HOST: str = env("EMAIL_HOST", "localhost")
EMAIL_PORT: int = env("EMAIL_PORT", "25", parse_port)
EMAIL_HOST_USER: str = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD: str = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS: bool = env("EMAIL_USE_TLS", "false", parse_bool)
EMAIL_TIMEOUT: float = ALERT_TIMEOUT
DEFAULT_FROM_EMAIL: str = env("DEFAULT_FROM_EMAIL", "etl@localhost")
SERVER_EMAIL: str = DEFAULT_FROM_EMAIL
# paramiko logs every connection and channel at INFO, and a failure's traceback as ERROR lines:
# warnings and up go to LOG_FILE only (config/logging.py); our sftp.* events say what matters.
SENTRY_DSN: str = env("SENTRY_DSN", "")
# Empty (as in .env.example) means the default, like unset.
SENTRY_ENVIRONMENT: str = env("SENTRY_ENVIRONMENT", "") or ("development" if DEBUG else "production")
if SENTRY_DSN:
    from alerts.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT)

# --- Security (issue #14) -----------------------------------------------------
# Client identity behind proxies (customers/throttles.py): X-Forwarded-For is
# believed only as far as declared proxies reach. NUM_PROXIES=N: N proxies in
# front of us; or TRUSTED_PROXIES: their addresses/networks. Neither: ignored.
from config.env import parse_networks  # noqa: E402 (kept inside this section)

NUM_PROXIES: int = env("NUM_PROXIES", "0", int)
TRUSTED_PROXIES = env("TRUSTED_PROXIES", "", parse_networks)
if NUM_PROXIES < 0:
    raise ImproperlyConfigured(f"NUM_PROXIES: invalid value {NUM_PROXIES}: expected an integer >= 0")
if NUM_PROXIES and TRUSTED_PROXIES:
    raise ImproperlyConfigured("NUM_PROXIES and TRUSTED_PROXIES: set one of them, not both")

# Admin (and token) login lockout: django-axes, counting failures per client address.
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
# A NUL byte in a URL is a 400 before any view (it used to reach PostgreSQL: a 500).
MIDDLEWARE.insert(1, "customers.exceptions.bad_url_middleware")
MIDDLEWARE.insert(2, "config.middleware.api_private_cache_middleware")
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT: int = env("AXES_FAILURE_LIMIT", "5", parse_positive_int)
AXES_COOLOFF_TIME: timedelta = env(
    "AXES_COOLOFF_MINUTES", "60", lambda v: timedelta(minutes=parse_positive_int(v))
)
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_CLIENT_IP_CALLABLE = "customers.throttles.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # its own log lines would repeat ours; lockouts are logged as axes.* warnings

# --- ETL: ingest, sources, retries, lake, Spark (issues #3, #6, #7, #8) -------------
# In their own module, config/settings_pipeline.py (a module stays under 400 lines).
from config.settings_pipeline import *  # noqa: E402, F403
