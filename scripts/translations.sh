#!/usr/bin/env bash
# The gettext catalogues of texts/ (docs/TRANSLATIONS.md), through Babel's pybabel:
#   extract   texts/**.py → texts/locale/vocal_remover.pot (the English message ids)
#   update    the template into every language's .po (new ids empty, removed ones dropped)
#   compile   every .po → its .mo (what the service loads; build output, git-ignored)
#   check     fail if the template or a .po is out of date with the code
# PYTHON names the interpreter whose Babel runs (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
DOMAIN=vocal_remover
LOCALES=texts/locale
POT="$LOCALES/$DOMAIN.pot"
pybabel() { "$PYTHON" -m babel.messages.frontend "$@"; }

extract() {  # $1: where the template goes
    pybabel extract -F babel.cfg --no-location --width=100 --project=vocal-remover \
        --copyright-holder="vocal-remover contributors" --omit-header -o "$1" .
}

case "${1:-}" in
    extract) extract "$POT" 2>/dev/null ;;
    update)
        extract "$POT" 2>/dev/null
        pybabel update -D "$DOMAIN" -i "$POT" -d "$LOCALES" --width=100 --ignore-obsolete \
            --no-fuzzy-matching
        ;;
    compile) pybabel compile -D "$DOMAIN" -d "$LOCALES" ;;
    check)
        fresh="$(mktemp)"; copy="$(mktemp -d)"; trap 'rm -rf "$fresh" "$copy"' EXIT
        extract "$fresh" 2>/dev/null
        if ! cmp -s "$fresh" "$POT"; then
            echo "$POT is out of date: run scripts/translations.sh update" >&2; exit 1
        fi
        cp -r "$LOCALES"/. "$copy"
        pybabel update -D "$DOMAIN" -i "$POT" -d "$copy" --width=100 --ignore-obsolete \
            --no-fuzzy-matching >/dev/null 2>&1
        if ! diff -r -q -I '^"POT-Creation-Date' -x '*.mo' "$LOCALES" "$copy" >/dev/null; then
            echo "a .po is out of date with $POT: run scripts/translations.sh update" >&2; exit 1
        fi
        ;;
    *) echo "usage: $0 extract|update|compile|check" >&2; exit 2 ;;
esac
