"""Every error a person may be told about: its stable code, and the one base class.

Shaped like RQ's flat ``exceptions.py``: the codes of every owner (the engine's bad audio, the
pipeline's refusals and failures, the payments' pre-checkout and /forget refusals) live in one
:class:`ErrorCode`, so an owner's error class, a job record and the text catalogue (``texts``)
all name the same value and no code is retyped as a bare literal anywhere else.

Invariant: an error carries its ``code`` and its parameters (``params``, also attributes) and no
words; ``str(error)`` is a detail for logs. The words are the catalogue's
(``texts.error_text(code, **params)``), so they can be translated and the engine, the jobs and
the payments never hold a sentence. This module imports nothing of ours: every part may use it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class ErrorCode(StrEnum):
    """The stable codes stored in job records and events and worded by the catalogue."""

    ERROR = "error"  # the base: something went wrong
    # The engine: audio it cannot take (permanent).
    BAD_AUDIO = "bad_audio"
    NOT_AUDIO = "not_audio"
    NO_AUDIO_STREAM = "no_audio_stream"
    CORRUPT_AUDIO = "corrupt_audio"
    EMPTY_AUDIO = "empty_audio"
    SILENT_AUDIO = "silent_audio"
    TOO_LONG = "too_long"
    TOO_LARGE = "too_large"
    BAD_KARAOKE_SETTINGS = "bad_karaoke_settings"
    # The pipeline's refusals (jobs.errors).
    JOB_ERROR = "job_error"
    USER_LIMIT = "user_limit"
    BUSY = "busy"
    JOB_NOT_FOUND = "job_not_found"
    INPUT_EXPIRED = "input_expired"
    NOT_DELIVERED = "not_delivered"
    KARAOKE_IN_FLIGHT = "karaoke_in_flight"
    KARAOKE_QUOTA = "karaoke_quota"
    # The pipeline's failures, written into job records and events (jobs.tasks, jobs.line,
    # jobs.karaoke_jobs); a transient failure's exception class is its ``exception`` parameter.
    JOB_FAILED = "job_failed"
    JOB_TIMEOUT = "job_timeout"
    CANCELLED = "cancelled"
    KARAOKE_EXPIRED = "karaoke_expired"
    KARAOKE_FAILED = "karaoke_failed"
    # Telegram's pre-checkout refusals (payments.stars).
    INVOICE_UNKNOWN = "invoice_unknown"
    INVOICE_NOT_YOURS = "invoice_not_yours"
    ORDER_ALREADY_PAID = "order_already_paid"
    ORDER_CLOSED = "order_closed"
    PRICE_CHANGED = "price_changed"
    SONG_GONE = "song_gone"
    PAYER_BANNED = "payer_banned"
    # /forget refused while money is in flight (payments.privacy).
    ORDER_IN_FLIGHT = "order_in_flight"


class UserFacingError(Exception):
    """The one base of every error a person may be told about (the engine's and the pipeline's).

    Subclasses set ``code``; those whose words need figures take them as keyword parameters,
    kept as attributes and in ``params`` (JSON-safe values: they are stored in job records). The
    message (``str``) is ``detail``, for logs only.
    """

    code: ClassVar[ErrorCode] = ErrorCode.ERROR

    def __init__(self, detail: str = "", **params: Any) -> None:
        super().__init__(detail or self.code.value)
        self.params: dict[str, Any] = dict(params)
        for name, value in params.items():
            setattr(self, name, value)
