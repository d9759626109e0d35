"""The gettext machinery every text of the catalogue goes through.

Every text is an English source string written as a literal inside a standard gettext marker —
``_("…")``, ``ngettext("… {count} song …", "… {count} songs …", count)``, ``pgettext("command", "…")``
for a word that needs its context, or ``N_("…")`` for a text defined once and translated where
it is used — so ``pybabel extract`` (or ``xgettext``)
finds them all with its default keywords. Named ``{placeholders}`` are filled *after*
translation (``_("Hi, {name}").format(name=…)``), so a translation may move them.

Which translation is active is a context variable: :class:`gettext.NullTranslations` (the
English source) until :func:`use` installs a loaded catalogue, for one task or one request, so
two people's answers never share a language by accident.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The translation domain: the .po/.mo files' name (``locale/<lang>/LC_MESSAGES/vocal_remover.mo``).
DOMAIN = "vocal_remover"

# The English source, spoken wherever no catalogue is in effect (one shared, read-only object).
SOURCE = gettext.NullTranslations()
_active: ContextVar[gettext.NullTranslations | None] = ContextVar("texts_translations", default=None)


def _(message: str) -> str:
    """``message`` in the active language (the English source when none is loaded)."""
    return active().gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The plural form for ``count`` in the active language."""
    return active().ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    """``message`` in the active language, told apart from the same English word used
    elsewhere by ``context`` (a command's name, "command", beside the word in a sentence)."""
    return active().pgettext(context, message)


def N_(message: str) -> str:
    """Marks a text for extraction without translating it: it is translated where it is used."""
    return message


def active() -> gettext.NullTranslations:
    """The translations in effect for the current context."""
    current = _active.get()
    return SOURCE if current is None else current


@contextmanager
def use(translations: gettext.NullTranslations) -> Iterator[None]:
    """Speak ``translations`` inside the ``with`` block (this task or thread only)."""
    token = _active.set(translations)
    try:
        yield
    finally:
        _active.reset(token)
