#!/usr/bin/env bash
# `make run`: local settings (.env, written once), migrate, the demo admin, the
# sample ingest, a worker in the background (`manage.py worker`: uploads and the
# INGEST_SCHEDULE polls), then the server in the foreground (runserver with DEBUG
# on, gunicorn otherwise). Ctrl-C, `kill PID` or `make stop` (from another shell)
# end both (the worker stops with the server), and the embedded PostgreSQL stops
# with its last user.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.venv/bin}"
HOST="${RUN_HOST:-127.0.0.1}"
PORT="${RUN_PORT:-8000}"
"$BIN/python" scripts/make_env.py
"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py demo_setup --base-url "http://$HOST:$PORT"
DEBUG_ON=$("$BIN/python" -c 'from config.env import env, parse_bool; print(env("DEBUG", "false", parse_bool))')
mkdir -p .data
echo $$ > .data/run.pid  # `exec` keeps this PID: `make stop` reads it
# The worker watches this PID (the server's, after `exec`) and stops gracefully when it ends.
"$BIN/python" manage.py worker --stop-with $$ &
echo $! > .data/worker.pid
echo "Serving on http://$HOST:$PORT/ (pid $$, worker pid $!). Stop: Ctrl-C, kill $$, or make stop."
if [[ "$DEBUG_ON" == "True" ]]; then
  exec "$BIN/python" manage.py runserver --noreload "$HOST:$PORT"
fi
"$BIN/python" manage.py collectstatic --noinput >/dev/null
exec "$BIN/gunicorn" config.wsgi:application --bind "$HOST:$PORT" --workers "${WEB_CONCURRENCY:-2}"
