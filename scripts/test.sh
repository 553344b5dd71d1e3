#!/usr/bin/env bash
# Set up (idempotent), then lint, type-check, check the import layers and run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy -p runbridge -p runbridge_cyberdesk -p runbridge_kognitos -p runbridge_runflow
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
