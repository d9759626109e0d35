"""The words of every error code (:class:`service.errors.ErrorCode`): what a person is told.

Each code has one entry in :data:`TEXTS`: a template (``N_("…")`` with named ``{placeholders}``,
each one of the error's parameters) or, where the words need figures worked out or a plural, a
function of the error's parameters. :func:`error_text` turns a code and its parameters into
words in the active language; ``tests/texts/test_coverage.py`` fails when a code raised or
recorded anywhere has no entry, or an entry names a parameter its error does not carry.
"""

from __future__ import annotations

import inspect
import math
import string
from collections.abc import Callable, Mapping
from typing import Any

from service.errors import ErrorCode, UserFacingError
from texts.translation import N_, _, ngettext
from texts.units import spoken_duration, wait_duration, whole_megabytes

Entry = str | Callable[..., str]


def _too_long(duration_s: float, limit_s: float, at_least: bool = False) -> str:
    """Rounds the song's length up and the limit down (whole seconds), so the two never read
    the same: "20 minutes 10 seconds … up to 20 minutes"."""
    limit = spoken_duration(math.floor(limit_s))
    if at_least:
        said = _("That song is longer than the {limit} I can take.").format(limit=limit)
    else:
        said = _("That song is {length} long; I can take up to {limit}.").format(
            length=spoken_duration(math.ceil(duration_s)), limit=limit
        )
    return _("{refusal} Please send a shorter cut.").format(refusal=said)


def _too_large(size_bytes: int, limit_bytes: int) -> str:
    return _(
        "That file is {size}; the limit is {limit}. Please send a compressed version (mp3 or m4a)."
    ).format(size=whole_megabytes(size_bytes), limit=whole_megabytes(limit_bytes))


def _user_limit(limit: int) -> str:
    return ngettext(
        "You already have {limit} song in progress. "
        "Please wait for one to finish (or cancel one) before sending another.",
        "You already have {limit} songs in progress. "
        "Please wait for one to finish (or cancel one) before sending another.",
        limit,
    ).format(limit=limit)


def _busy(waiting: int, wait_s: float) -> str:
    return ngettext(
        "I'm very busy right now: {waiting} song is waiting ahead of yours, so your preview would "
        "take about {wait}. Please send it again in a few minutes.",
        "I'm very busy right now: {waiting} songs are waiting ahead of yours, so your preview would "
        "take about {wait}. Please send it again in a few minutes.",
        waiting,
    ).format(waiting=waiting, wait=wait_duration(wait_s))


def _karaoke_quota(per_day: int) -> str:
    return ngettext(
        "You've made {per_day} karaoke preview today, the most for one day. Please try again tomorrow.",
        "You've made {per_day} karaoke previews today, the most for one day. Please try again tomorrow.",
        per_day,
    ).format(per_day=per_day)


# The generic apology: the words of ErrorCode.ERROR, and what any code without words falls back to.
APOLOGY = N_("Something went wrong. Please try again.")

TEXTS: Mapping[ErrorCode, Entry] = {
    ErrorCode.ERROR: APOLOGY,
    ErrorCode.BAD_AUDIO: N_(
        "I couldn't read that file as audio. Please send a song (mp3, m4a, flac, wav, ogg)."
    ),
    ErrorCode.NOT_AUDIO: N_(
        "That doesn't look like an audio file. Send me a song as mp3, m4a, flac, wav, ogg or a video."
    ),
    ErrorCode.NO_AUDIO_STREAM: N_("That file has no sound track in it, so there is nothing to separate."),
    ErrorCode.CORRUPT_AUDIO: N_(
        "That audio file seems damaged — I couldn't decode it. Could you export it again?"
    ),
    ErrorCode.EMPTY_AUDIO: N_("That file contains no audio (it is empty or zero seconds long)."),
    ErrorCode.SILENT_AUDIO: N_("That recording is silent — there are no vocals or music to separate."),
    ErrorCode.TOO_LONG: _too_long,
    ErrorCode.TOO_LARGE: _too_large,
    ErrorCode.BAD_KARAOKE_SETTINGS: N_(
        "Those karaoke settings aren't available. Choose a guide vocal of off, −18, −12 or −6 dB, "
        "a key shift of {min_semitones}…+{max_semitones} semitones and a tempo of "
        "{min_tempo_percent}–{max_tempo_percent} %, in steps of {tempo_step_percent}."
    ),
    ErrorCode.JOB_ERROR: N_("Something went wrong with that request. Please try again."),
    ErrorCode.USER_LIMIT: _user_limit,
    ErrorCode.BUSY: _busy,
    ErrorCode.JOB_NOT_FOUND: N_("I can't find that song any more. Please send it again."),
    ErrorCode.INPUT_EXPIRED: N_(
        "That song is no longer stored (uploads are kept for a limited time). "
        "Please send it again to get the full version."
    ),
    ErrorCode.NOT_DELIVERED: N_("Sorry — I couldn't separate your song, even after several tries."),
    ErrorCode.KARAOKE_IN_FLIGHT: N_(
        "Your last karaoke preview is still being made. Please wait for it first."
    ),
    ErrorCode.KARAOKE_QUOTA: _karaoke_quota,
    ErrorCode.JOB_FAILED: N_(
        "Sorry — something went wrong on our side while processing that song. "
        "Please try again in a few minutes."
    ),
    ErrorCode.JOB_TIMEOUT: N_("Sorry — that song took too long to process. Please try again later."),
    ErrorCode.CANCELLED: N_("Cancelled — that song is out of the queue."),
    ErrorCode.KARAOKE_EXPIRED: N_("That preview is no longer stored. Please send the song again."),
    ErrorCode.KARAOKE_FAILED: N_(
        "Sorry — I couldn't make that karaoke version. Please try again in a few minutes."
    ),
    # Shown by Telegram in the payment sheet when we decline (kept short).
    ErrorCode.INVOICE_UNKNOWN: N_("This invoice is no longer valid. Please send the song again."),
    ErrorCode.INVOICE_NOT_YOURS: N_("This invoice belongs to someone else."),
    ErrorCode.ORDER_ALREADY_PAID: N_("This song is already paid for - your stems are on their way."),
    ErrorCode.ORDER_CLOSED: N_("This order is closed. Please send the song again to buy it."),
    ErrorCode.PRICE_CHANGED: N_("The price has changed. Please ask for a new invoice."),
    ErrorCode.SONG_GONE: N_("Sorry, this song has expired from our storage. Please send it again."),
    ErrorCode.PAYER_BANNED: N_("Payments are not available for this account."),
    ErrorCode.ORDER_IN_FLIGHT: N_(
        "You have a paid order that is still being processed. Please try /forget again once "
        "your stems have arrived (or the payment was refunded)."
    ),
}


def entry_parameters(entry: Entry) -> tuple[set[str], set[str]]:
    """(the parameters an entry needs, those it may take): a template's placeholders (both), a
    function's parameters without and with a default."""
    if isinstance(entry, str):
        names = {field for _text, field, _spec, _conv in string.Formatter().parse(entry) if field}
        return names, names
    params = inspect.signature(entry).parameters.values()
    return {p.name for p in params if p.default is p.empty}, {p.name for p in params}


def error_text(code: str, **params: Any) -> str | None:
    """The words for ``code`` with its parameters, in the active language; None when the code
    has no entry or a parameter its words need is missing (a record from an older release:
    the caller falls back to what that record said, or a generic apology)."""
    try:
        entry = TEXTS[ErrorCode(code)]
    except ValueError:
        return None
    needed, taken = entry_parameters(entry)
    if not needed <= params.keys():
        return None
    if isinstance(entry, str):
        return _(entry).format(**{name: params[name] for name in taken})
    return entry(**{name: value for name, value in params.items() if name in taken})


def text_of(error: UserFacingError) -> str:
    """What to tell a person about ``error`` (the generic apology if its code has no words)."""
    return error_text(error.code, **error.params) or _(APOLOGY)
