#!/usr/bin/env bash
# `make run`: migrate, create the demo admin, ingest the sample, serve the API.
# Local demo defaults: DEBUG on unless the environment or .env says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.venv/bin}"
if [[ -z "${DEBUG:-}" ]] && ! grep -qs '^DEBUG=' .env; then
  export DEBUG=true
fi
HOST="${RUN_HOST:-127.0.0.1}"
PORT="${RUN_PORT:-8000}"
"$BIN/python" manage.py migrate --noinput

"$BIN/python" manage.py demo_setup --base-url "http://$HOST:$PORT"
if [[ "${DEBUG}" =~ ^(1|true|yes|on)$ ]]; then
  exec "$BIN/python" manage.py runserver --noreload "$HOST:$PORT"
fi
"$BIN/python" manage.py collectstatic --noinput >/dev/null
exec "$BIN/gunicorn" config.wsgi:application --bind "$HOST:$PORT" --workers "${WEB_CONCURRENCY:-2}"
