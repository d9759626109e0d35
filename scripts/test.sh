#!/usr/bin/env bash
# Set up and run the whole test suite on a fresh Debian machine (the README's test command).
# Installs system packages when missing, makes .venv, installs the project with its dev extras,
# then runs ruff and pytest. Tests start their own redis-server on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v redis-server >/dev/null || need+=(redis-server)
python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" python3-venv
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ".[dev]"

.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
