"""Errors the job API raises to its callers (the bots and payments).

Like :class:`engine.errors.AudioError`, each is a :class:`service.errors.UserFacingError`: a
stable ``code`` and the figures its words need as parameters; the words are the text
catalogue's (``texts.error_text``). Bad audio itself is reported with the engine's
``AudioError`` subclasses, unchanged.
"""

from __future__ import annotations

from service.errors import ErrorCode, UserFacingError


class JobError(UserFacingError):
    code = ErrorCode.JOB_ERROR


class UserLimitError(JobError):
    """The person already has the maximum number of songs in progress."""

    code = ErrorCode.USER_LIMIT
    limit: int

    def __init__(self, limit: int) -> None:
        super().__init__(f"user has {limit} jobs in flight", limit=limit)


class BusyError(JobError):
    """A new preview would wait longer than ``MAX_PREVIEW_WAIT_S`` (:mod:`jobs.wait`): ``waiting``
    songs are ahead of it and it would be ready in about ``wait_s`` seconds. The person is told
    both and tries again later (back-pressure); paid jobs are never refused."""

    code = ErrorCode.BUSY
    waiting: int
    wait_s: float

    def __init__(self, waiting: int, wait_s: float) -> None:
        super().__init__(f"{waiting} previews waiting, about {wait_s:.0f} s", waiting=waiting, wait_s=wait_s)


class JobNotFoundError(JobError):
    code = ErrorCode.JOB_NOT_FOUND


class InputExpiredError(JobError):
    """The uploaded song was deleted by retention before the full version was ordered."""

    code = ErrorCode.INPUT_EXPIRED


class NotDeliveredError(JobError):
    """A paid job was started again and again without its stems reaching the person: payments'
    recovery gives the order up (its failed event makes the person's bot refund and tell)."""

    code = ErrorCode.NOT_DELIVERED


class KaraokeInFlightError(JobError):
    """The person's karaoke preview render is still waiting or running: one at a time each, so
    one person's taps cannot fill the line (docs/PIPELINE.md, "Karaoke variants")."""

    code = ErrorCode.KARAOKE_IN_FLIGHT


class KaraokeQuotaError(JobError):
    """The person used today's karaoke preview renders (``KARAOKE_RENDERS_PER_DAY``)."""

    code = ErrorCode.KARAOKE_QUOTA
    per_day: int

    def __init__(self, per_day: int) -> None:
        super().__init__(f"{per_day} karaoke renders today", per_day=per_day)
