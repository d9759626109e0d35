"""The languages the service speaks, how a platform's language tag maps onto one, and the
compiled gettext catalogue of each.

A language is named by its catalogue's code (``pt_BR``: the folder under ``texts/locale``), and
each knows the tags the outside world uses for it: the page's ``lang`` attribute (BCP 47),
Discord's locales, Stripe Checkout's locale. Anything a platform or a browser sends is read by
:func:`negotiate`, which answers one of :data:`CODES` or None — never a language without a
catalogue — so an unknown tag falls back to English at the one place that decides
(:func:`resolve`).

English is the source language: its texts are the message ids themselves (no catalogue, the
:data:`texts.translation.SOURCE` translations). Every other language is a ``.mo`` file compiled
from its committed ``.po`` by ``scripts/translations.sh compile`` (the set-up and the Docker image
run it); a missing one is an installation error, named, not a silent fall back to English.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from texts.translation import DOMAIN, SOURCE, active, use

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
ENGLISH = "en"


@dataclass(frozen=True)
class Language:
    code: str  # the catalogue's name: texts/locale/<code>/LC_MESSAGES/vocal_remover.po
    native: str  # its own name for itself, as a person picks it from a list
    tag: str  # BCP 47, for HTML's lang attribute and Accept-Language
    rtl: bool = False
    # Discord's locales that speak it (Discord has none for some: /language covers those).
    discord: tuple[str, ...] = ()
    # Stripe Checkout's locale for it; None where Checkout has none ("auto" is sent instead).
    stripe: str | None = None

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"


LANGUAGES: tuple[Language, ...] = (
    Language("en", "English", "en", discord=("en-US", "en-GB"), stripe="en"),
    Language("es", "Español", "es", discord=("es-ES", "es-419"), stripe="es"),
    Language("pt_BR", "Português (Brasil)", "pt-BR", discord=("pt-BR",), stripe="pt-BR"),
    Language("ru", "Русский", "ru", discord=("ru",), stripe="ru"),
    Language("uk", "Українська", "uk", discord=("uk",)),
    Language("de", "Deutsch", "de", discord=("de",), stripe="de"),
    Language("fr", "Français", "fr", discord=("fr",), stripe="fr"),
    Language("tr", "Türkçe", "tr", discord=("tr",), stripe="tr"),
    Language("id", "Bahasa Indonesia", "id", discord=("id",), stripe="id"),
    Language("fa", "فارسی", "fa", rtl=True),
)
BY_CODE: dict[str, Language] = {language.code: language for language in LANGUAGES}
CODES: tuple[str, ...] = tuple(BY_CODE)
# The longest code stored with a person or a job (``pt_BR``).
CODE_MAX = max(len(code) for code in CODES)
# Stripe Checkout's own choice, from the buyer's browser, where it has no locale of ours.
STRIPE_AUTO = "auto"


class CatalogueMissing(RuntimeError):
    """A language's compiled catalogue is not installed (``scripts/translations.sh compile``)."""


def negotiate(tag: str | None) -> str | None:
    """The code of the language a platform's or browser's ``tag`` names ("pt-br", "pt_BR",
    "ru-RU", "es-419", "en-US"), or None when we do not speak it. A region we have no
    catalogue for falls to its language ("es-419" → es, "en-GB" → en), and a language with one
    regional catalogue takes any of its regions ("pt", "pt-PT" → pt_BR)."""
    if not tag:
        return None
    wanted = tag.strip().replace("_", "-").lower()
    if not wanted:
        return None
    for language in LANGUAGES:
        if wanted in (language.tag.lower(), language.code.lower().replace("_", "-")):
            return language.code
    base = wanted.split("-")[0]
    matches = [code for code in CODES if code.split("_")[0].lower() == base]
    return matches[0] if matches else None


def resolve(*choices: str | None) -> str:
    """The first of ``choices`` we speak (a stored choice, then the platform's tag, ...),
    else English."""
    for choice in choices:
        code = negotiate(choice)
        if code is not None:
            return code
    return ENGLISH


def from_accept_language(header: str | None) -> str | None:
    """The best language of an HTTP ``Accept-Language`` header that we speak (by its q-values,
    first listed first among equals), or None."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, index, tag))
    for _quality, _index, tag in sorted(ranked):
        code = negotiate(tag)
        if code is not None:
            return code
    return None


@functools.cache
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``code`` (one of :data:`CODES`; English is the source)."""
    if code not in BY_CODE:
        raise ValueError(f"no language {code!r}; one of {CODES}")
    if code == ENGLISH:
        return SOURCE
    try:
        return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[code])
    except FileNotFoundError:
        raise CatalogueMissing(
            f"{LOCALE_DIR}/{code}/LC_MESSAGES/{DOMAIN}.mo is missing: run "
            "scripts/translations.sh compile (the set-up does)"
        ) from None


def check_installed() -> None:
    """Load every catalogue now: a process that will speak them fails at start-up, not at the
    first person who needs one."""
    for code in CODES:
        translations(code)


@contextmanager
def speak(code: str | None) -> Iterator[str]:
    """Speak the language ``code`` names (English when it names none) inside the ``with``
    block; yields the code spoken."""
    spoken = resolve(code)
    with use(translations(spoken)):
        yield spoken


def current() -> str:
    """The code of the language in effect (the catalogue's own ``Language`` header)."""
    return negotiate(active().info().get("language")) or ENGLISH


def current_language() -> Language:
    return BY_CODE[current()]


def discord_locales() -> dict[str, str]:
    """Each Discord locale we speak → our code."""
    return {tag: language.code for language in LANGUAGES for tag in language.discord}


def stripe_locale(code: str | None) -> str:
    """Stripe Checkout's ``locale`` for ``code``: its own where it has one, else ``auto``."""
    language = BY_CODE.get(resolve(code))
    return (language.stripe if language else None) or STRIPE_AUTO
