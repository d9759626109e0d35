#!/usr/bin/env bash
# Set up and run the whole test suite on a fresh Debian machine (the README's test command).
# Installs system packages when missing, makes .venv, installs the project with its dev extras,
# then runs ruff and pytest. Tests start their own redis-server on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh --dev

.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
