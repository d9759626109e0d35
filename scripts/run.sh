#!/usr/bin/env bash
# The README's run command. On a fresh Debian machine: installs what is missing (ffmpeg,
# redis-server, python3-venv), makes .venv and installs the project, starts a local redis-server
# (append-only file on, data under var/redis) unless REDIS_URL points at one, starts WORKERS job
# workers, and then
#   * with bot tokens set: the Telegram bot (TELEGRAM_BOT_TOKEN), the Discord bot
#     (DISCORD_BOT_TOKEN) and the web server — results pages, downloads, uploads by link
#     (DOWNLOAD_SECRET), with the Stripe webhook where STRIPE_WEBHOOK_SECRET is set — running
#     until Ctrl-C;
#   * with no tokens: a local demo — the bundled sample song through the real queue and worker,
#     paid for in the local ledger — with the web server on loopback: it prints the song's
#     results pages (the preview's, then the full song's) and stays up until Ctrl-C; with
#     DEMO_EXIT=1 (scripts, tests) it stops everything it started once the pages are printed.
# Every process runs under scripts/supervise.sh: one that crashes is restarted with a back-off (1 s,
# doubling to 60 s) and each restart is logged in var/log/supervise.log, as compose's `restart:`
# does; the rest keep running.
# Settings come from the environment or from a .env file (see .env.example; the environment wins).
# SKIP_INSTALL=1 uses .venv as it is (development, tests).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

if [ -f .env ]; then
    while IFS='=' read -r key value; do
        [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
        [ -n "${!key:-}" ] || export "$key=$value"
    done < .env
fi

# Service mode: a bot, or the Stripe webhook; else the demo.
service_mode=0
if [ -n "${TELEGRAM_BOT_TOKEN:-}" ] || [ -n "${DISCORD_BOT_TOKEN:-}" ] ||
   { [ -n "${STRIPE_API_KEY:-}" ] && [ -n "${STRIPE_WEBHOOK_SECRET:-}" ]; }; then
    service_mode=1
fi
if [ "$service_mode" = 1 ] && [ -z "${ABUSE_HMAC_SECRET:-}" ]; then
    # The bots and the web server refuse to start without it (docs/PAYMENTS.md): say so
    # once here rather than let the supervisor restart them in a loop.
    echo "error: ABUSE_HMAC_SECRET is not set; set a long random string (see .env.example)." >&2
    exit 1
fi

VAR_DIR="${VAR_DIR:-$ROOT/var}"
LOG_DIR="$VAR_DIR/log"
WORKERS="${WORKERS:-1}"
export STORAGE_DIR="${STORAGE_DIR:-$VAR_DIR/storage}"
export MODEL_PATH="${MODEL_PATH:-$ROOT/models/vocals-unet.pt}"
export DATABASE_URL="${DATABASE_URL:-sqlite:///$VAR_DIR/payments.sqlite3}"
mkdir -p "$LOG_DIR"

# --- system packages and python environment (shared with scripts/test.sh) -------------------
PY="$ROOT/.venv/bin/python"
if [ "${SKIP_INSTALL:-0}" = "1" ]; then
    "$ROOT/scripts/setup.sh" --system-only
else
    "$ROOT/scripts/setup.sh"
fi

if [ ! -f "$MODEL_PATH" ]; then
    echo "error: no model at $MODEL_PATH. Set MODEL_PATH, or train one (see README)." >&2
    exit 1
fi

# --- processes ---------------------------------------------------------------------------------
pids=()
cleanup() {  # newest first, so bots and workers still reach Redis while they shut down
    trap - EXIT INT TERM
    local i pid
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid="${pids[$i]}"
        kill -TERM -- "-$pid" 2>/dev/null || continue
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export SUPERVISE_LOG="$LOG_DIR/supervise.log"
start() {  # start NAME COMMAND...: supervised, in its own process group, output to var/log/NAME.log
    local name="$1"; shift
    setsid "$ROOT/scripts/supervise.sh" "$name" "$@" >>"$LOG_DIR/$name.log" 2>&1 &
    pids+=("$!")
    echo "started $name (pid $!, log $LOG_DIR/$name.log)"
}

if [ -z "${REDIS_URL:-}" ]; then
    port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    mkdir -p "$VAR_DIR/redis"
    start redis redis-server --port "$port" --bind 127.0.0.1 --dir "$VAR_DIR/redis" \
        --appendonly yes --appendfsync always --save "" --daemonize no
    export REDIS_URL="redis://127.0.0.1:$port/0"
    for _ in $(seq 100); do
        "$PY" -c "import redis,sys; redis.Redis.from_url('$REDIS_URL').ping()" 2>/dev/null && break
        sleep 0.1
    done
fi

if [ -z "${TORCH_NUM_THREADS:-}" ] && [ "$WORKERS" -gt 1 ]; then
    # Several workers on one CPU: share the cores instead of every torch taking all of them.
    threads=$(( $(nproc) / WORKERS )); export TORCH_NUM_THREADS=$(( threads > 0 ? threads : 1 ))
fi
# Each worker serves /metrics (when METRICS_PORT is set) on its own port: METRICS_PORT + 10 + index.
for n in $(seq "$WORKERS"); do start "worker-$n" env WORKER_INDEX=$((n - 1)) "$PY" worker.py; done

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if [ "$service_mode" = 1 ]; then
    if [ -n "${TELEGRAM_BOT_TOKEN:-}" ]; then start telegram "$PY" -m bots.telegram; fi
    if [ -n "${DISCORD_BOT_TOKEN:-}" ]; then start discord "$PY" -m bots.discord; fi
    # The web server: pages, downloads and uploads (DOWNLOAD_SECRET), the Stripe webhook.
    if [ -n "${DOWNLOAD_SECRET:-}" ] || [ -n "${STRIPE_WEBHOOK_SECRET:-}" ]; then
        start web "$PY" -m web.server
    fi
    echo "running; Ctrl-C stops everything (restarts of crashed processes: $SUPERVISE_LOG)"
    wait
    exit 0
fi

echo "no bot tokens set: running the local demo"
# The demo's own secrets, new each run, unless .env has them: its pages live while it runs.
random_secret() { "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))'; }
export DOWNLOAD_SECRET="${DOWNLOAD_SECRET:-$(random_secret)}"
export ABUSE_HMAC_SECRET="${ABUSE_HMAC_SECRET:-$(random_secret)}"
export WEBHOOK_HOST=127.0.0.1 WEBHOOK_PORT="$(free_port)"
export PUBLIC_BASE_URL="http://127.0.0.1:$WEBHOOK_PORT"
"$PY" -m db.migrate >>"$LOG_DIR/web.log" 2>&1
start web "$PY" -m web.server
for _ in $(seq 300); do
    "$PY" -c "import urllib.request; urllib.request.urlopen('$PUBLIC_BASE_URL/healthz', timeout=1)" \
        2>/dev/null && break
    sleep 0.1
done
"$PY" -m web.demo "$@"
if [ "${DEMO_EXIT:-0}" = "1" ]; then
    exit 0
fi
echo "the pages above stay up until Ctrl-C (web server log: $LOG_DIR/web.log)"
wait
