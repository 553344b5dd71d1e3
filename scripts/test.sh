#!/usr/bin/env bash
# Set up (idempotent), then lint, type-check, check the import layers and run the tests.
# The tests of the PostgreSQL journal get a throwaway server on 127.0.0.1 (installed if
# missing, stopped afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy -p runbridge -p runbridge_cyberdesk -p runbridge_kognitos -p runbridge_kognitos_api -p runbridge_runflow
.venv/bin/lint-imports

bash scripts/postgres.sh install
pg_home=$(mktemp -d)
chmod 755 "$pg_home"
trap 'bash scripts/postgres.sh stop "$pg_home/pg"; rm -rf "$pg_home"' EXIT
pg_port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUNBRIDGE_TEST_POSTGRES=$(bash scripts/postgres.sh start "$pg_home/pg" "$pg_port")
export RUNBRIDGE_TEST_POSTGRES

.venv/bin/python -m pytest "$@"
