#!/usr/bin/env bash
# Set up and run every check on a fresh Debian machine (the README's test command; CI runs it
# through .ci/run): lint, format, types, then the fast test tier and the slow one (CONTRIBUTING.md).
# Installs system packages when missing, makes .venv, installs the project with its dev extras.
# Tests start their own redis-server on free loopback ports.
#
#   scripts/test.sh                  everything
#   scripts/test.sh --fast           lint, format, types and the fast tier only: no apt package,
#                                    no service, no browser needed (and none installed)
#   scripts/test.sh [--fast] ARGS    ARGS go to pytest, in each tier (e.g. a test file, -x)
set -euo pipefail
cd "$(dirname "$0")/.."

# On by default: the tree is formatted and type-clean, and stays so. `CHECK_TYPES=0` skips mypy
# for a quick local run; CI always runs both.
CHECK_FORMAT="${CHECK_FORMAT:-1}"  # ruff format --check .
CHECK_TYPES="${CHECK_TYPES:-1}"    # mypy (the packages of pyproject's [tool.mypy])

fast_only=0
if [ "${1:-}" = "--fast" ]; then fast_only=1; shift; fi

if [ "$fast_only" = 1 ]; then ./scripts/setup.sh --dev --no-apt; else ./scripts/setup.sh --dev; fi

echo "== ruff check"
.venv/bin/ruff check .
if [ "$CHECK_FORMAT" = 1 ]; then echo "== ruff format --check"; .venv/bin/ruff format --check .; fi
# mypy (half a minute, one core) runs beside the fast tier (one core, no service, nothing timed):
# its report and its verdict come right after that tier, before the slow one.
types_pid=""; types_log=""
if [ "$CHECK_TYPES" = 1 ]; then
    types_log="$(mktemp)"
    .venv/bin/mypy >"$types_log" 2>&1 & types_pid=$!
    trap 'if [ -n "$types_pid" ]; then kill "$types_pid" 2>/dev/null || true; fi; rm -f "$types_log"' EXIT
fi
types_verdict() {
    [ -n "$types_pid" ] || return 0
    local rc=0
    wait "$types_pid" || rc=$?
    types_pid=""
    echo "== mypy"; cat "$types_log"
    [ "$rc" = 0 ] || exit "$rc"
}

# One tier; pytest's "no tests collected" (5) is no failure: ARGS may hold none of this tier.
tier() {
    echo "== pytest -m \"$1\""
    local rc=0
    .venv/bin/python -m pytest -m "$1" -q "${@:2}" || rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 5 ] || exit "$rc"
}
tier "not slow" "$@"
types_verdict
[ "$fast_only" = 1 ] || tier "slow" "$@"
