#!/usr/bin/env bash
# Set up (idempotent), then run the benchmarks and write docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python bench/run.py "$@"
