"""Errors the job API raises to its callers (the bots and payments).

Like :class:`engine.errors.AudioError`, each is an :class:`engine.errors.UserFacingError`: a
stable ``code`` and a friendly ``user_message`` the bot can send as it is. Bad audio itself is
reported with the engine's ``AudioError`` subclasses, unchanged.
"""

from __future__ import annotations

from engine.errors import UserFacingError


class JobError(UserFacingError):
    code = "job_error"
    user_message = "Something went wrong with that request. Please try again."


class UserLimitError(JobError):
    """The person already has the maximum number of songs in progress."""

    code = "user_limit"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"user has {limit} jobs in flight",
            user_message=(
                f"You already have {limit} song{'s' if limit != 1 else ''} in progress. "
                "Please wait for one to finish (or cancel one) before sending another."
            ),
        )


class BusyError(JobError):
    """Too many previews are waiting for a worker: a new one would wait minutes for what is
    promised in seconds. The person is told so and tries again later (back-pressure); paid jobs
    are never refused."""

    code = "busy"

    def __init__(self, waiting: int) -> None:
        self.waiting = waiting
        super().__init__(
            f"{waiting} previews waiting",
            user_message=(
                f"I'm very busy right now: {waiting} "
                f"{'song is' if waiting == 1 else 'songs are'} waiting ahead of yours. "
                "Please send it again in a few minutes."
            ),
        )


class JobNotFoundError(JobError):
    code = "job_not_found"
    user_message = "I can't find that song any more. Please send it again."


class InputExpiredError(JobError):
    """The uploaded song was deleted by retention before the full version was ordered."""

    code = "input_expired"
    user_message = (
        "That song is no longer stored (uploads are kept for a limited time). "
        "Please send it again to get the full version."
    )


class NotDeliveredError(JobError):
    """A paid job was started again and again without its stems reaching the person: payments'
    recovery gives the order up (its failed event makes the person's bot refund and tell)."""

    code = "not_delivered"
    user_message = "Sorry — I couldn't separate your song, even after several tries."


class KaraokeInFlightError(JobError):
    """The person's karaoke preview render is still waiting or running: one at a time each, so
    one person's taps cannot fill the line (docs/PIPELINE.md, "Karaoke variants")."""

    code = "karaoke_in_flight"
    user_message = "Your last karaoke preview is still being made. Please wait for it first."


class KaraokeQuotaError(JobError):
    """The person used today's karaoke preview renders (``KARAOKE_RENDERS_PER_DAY``)."""

    code = "karaoke_quota"

    def __init__(self, per_day: int) -> None:
        self.per_day = per_day
        super().__init__(
            f"{per_day} karaoke renders today",
            user_message=(
                f"You've made {per_day} karaoke previews today, the most for one day. "
                "Please try again tomorrow."
            ),
        )
