#!/usr/bin/env bash
# Set up (idempotent), then lint, type-check and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy -p runbridge -p runbridge_cyberdesk -p runbridge_kognitos -p runbridge_runflow
.venv/bin/python -m pytest "$@"
