#!/usr/bin/env bash
# Shared set-up of the README's two commands on a fresh Debian machine: the system packages
# (ffmpeg, redis-server, python3-venv; apt-get only for what is missing), then .venv with the
# project installed. `setup.sh --dev` adds the test extras (and festival/fluidsynth, which a test
# of the synthetic-data builder runs; chromium + chromedriver for the results-page browser test;
# prometheus for promtool, which tests the alert rules);
# `--system-only` stops after apt; `--no-apt` skips it (the fast test tier needs no apt package).
# The install is skipped when .venv already holds this pyproject.toml with these extras.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""; system_only=0; apt=1
for arg in "$@"; do
    case "$arg" in
        --dev) extras="[dev]" ;;
        --system-only) system_only=1 ;;
        --no-apt) apt=0 ;;
        *) echo "usage: $0 [--dev] [--system-only | --no-apt]" >&2; exit 2 ;;
    esac
done

system_packages() {
    local need=()
    command -v ffmpeg >/dev/null || need+=(ffmpeg)
    command -v redis-server >/dev/null || need+=(redis-server)
    python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
    if [ -n "$extras" ]; then  # the tests also build a little synthetic training data
        command -v text2wave >/dev/null || need+=(festival festvox-kallpc16k)
        command -v fluidsynth >/dev/null || need+=(fluidsynth)
        [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || need+=(fluid-soundfont-gm)
        # the results-page test drives Debian's browser (selenium is pointed at these; no download)
        [ -x /usr/bin/chromium ] || need+=(chromium)
        [ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
        [ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
        # promtool (Debian's prometheus package): checks and unit-tests monitoring/alerts.yml
        command -v promtool >/dev/null || need+=(prometheus)
    fi
    if [ ${#need[@]} -gt 0 ]; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        echo "installing ${need[*]} ..."
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" python3-venv
    fi
}
[ "$apt" = 1 ] && system_packages
[ "$system_only" = 1 ] && exit 0

[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)${extras:+-dev}"
if [ ! -f "$stamp" ]; then
    echo "installing the project into .venv (torch included; this takes a while once) ..."
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".${extras}"
    touch "$stamp"
fi
# The translations the service speaks: every texts/locale/*/LC_MESSAGES/*.po compiled to its .mo.
PYTHON=.venv/bin/python scripts/translations.sh compile
