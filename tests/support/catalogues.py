"""The compiled catalogues a test run speaks: each ``.po`` compiled to its ``.mo`` when the
``.mo`` is missing or older, exactly as ``scripts/translations.sh compile`` does (Babel's
compiler), so a checkout whose set-up ran before a ``.po`` changed still tests the new words."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from texts.languages import LOCALE_DIR
from texts.translation import DOMAIN


def compile_stale(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile every stale catalogue under ``locale_dir``; returns the ``.mo`` files written."""
    written = []
    for po in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalogue = read_po(source, locale=po.parts[-3])
        with mo.open("wb") as target:
            write_mo(target, catalogue)
        written.append(mo)
    return written
