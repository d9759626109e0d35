"""Every word a person reads, in one catalogue: the bots' chats, the web pages, the error codes.

Imports only the standard library and :mod:`service`, so the web server, payments, jobs and the
bots all use it without an upward import. Each text is an English source string inside a
gettext marker (:mod:`texts.translation`), extractable by ``pybabel extract``; placeholders are
named and filled after translation.

* :mod:`texts.errors` — the words of every :class:`service.errors.ErrorCode` (``error_text``);
* :mod:`texts.chat` — what the bots say, with the per-platform :class:`texts.chat.Catalogue`;
* :mod:`texts.units` — durations and sizes in words.
"""

from texts.errors import error_text, text_of
from texts.translation import N_, _, ngettext, use

__all__ = ["N_", "_", "error_text", "ngettext", "text_of", "use"]
