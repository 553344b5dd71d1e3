#!/usr/bin/env bash
# Set up (idempotent), then run the demo against the built-in emulators on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/runbridge demo "$@"
