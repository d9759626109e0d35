"""Who may send a song now, and a checked song into the line: the one admission both doors use
(a file sent in the chat, ``bots.core.songs``; a file sent through an upload link,
:mod:`web.uploads`).

In order of cost: a banned person and one over the per-person rate are refused before anything
is fetched (:meth:`Admission.refuse_person`), a long line before the file is taken
(:meth:`Admission.refuse_busy`); once the file is checked (:mod:`jobs.intake`),
:meth:`Admission.submit` takes one of today's previews and submits the song through the jobs
façade, giving the preview back if the submission fails. Every refusal is a
:class:`~jobs.intake.Rejected` with the catalogue's words, so either door says the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jobs import BusyError, JobKind, JobQueue, JobRecord, UserFacingError
from jobs.intake import Rejected
from metrics import families
from people import RateLimiter, User, Users
from texts import chat as messages
from texts import text_of

# Runs a blocking call off the event loop (the bots' audio pool; a thread by default).
Runner = Callable[..., Awaitable[Any]]

QUOTA = "quota"  # Rejected.code of a person with no preview left today
BANNED = "banned"
SLOW_DOWN = "slow_down"


class Admission:
    def __init__(self, users: Users, rate_limiter: RateLimiter, queue: JobQueue) -> None:
        self.users = users
        self.rate_limiter = rate_limiter
        self.queue = queue

    @staticmethod
    def refuse_banned(user: User) -> Rejected | None:
        return Rejected(messages.BANNED, BANNED) if user.banned else None

    def refuse_person(self, user: User) -> Rejected | None:
        """A ban, then the per-person rate (one token spent per song sent)."""
        if user.banned:
            return self.refuse_banned(user)
        if not self.rate_limiter.allow(f"{user.platform}:{user.platform_user_id}"):
            families.RATE_LIMITED.labels(families.bounded(user.platform, families.PLATFORMS)).inc()
            return Rejected(messages.SLOW_DOWN, SLOW_DOWN)
        return None

    async def refuse_busy(self, platform: str) -> Rejected | None:
        """Back-pressure: when the line is already long, say so before the file is taken."""
        try:
            await asyncio.to_thread(self.queue.check_capacity)
        except BusyError as busy:
            _count_busy(platform)
            return Rejected(text_of(busy), busy.code, busy.params)
        return None

    async def submit(
        self,
        user: User,
        chat_id: str | int,
        path: Path,
        *,
        filename: str,
        language: str,
        run: Runner | None = None,
    ) -> JobRecord:
        """Take one of today's previews and submit the checked song as a preview job of
        ``user``'s, answered in ``chat_id`` in ``language``; the preview is given back when the
        submission fails. Raises :class:`Rejected` (no preview left; bad audio, too many songs,
        busy)."""
        quota = await asyncio.to_thread(self.users.consume_preview, user)
        if not quota.allowed:
            raise Rejected(messages.quota_exhausted(quota.limit or 0), QUOTA)
        try:
            record: JobRecord = await (run or asyncio.to_thread)(  # decodes and hashes the song
                self.queue.submit,
                user.platform_user_id,
                user.platform,
                chat_id,
                path,
                kind=JobKind.PREVIEW,
                filename=filename,
                language=language,  # the song's answers, however late, speak it
            )
        except UserFacingError as err:  # bad audio, too many songs, busy
            if isinstance(err, BusyError):
                _count_busy(user.platform)
            await asyncio.to_thread(self.users.release_preview, user)
            raise Rejected(text_of(err), err.code, err.params) from err
        except BaseException:
            await asyncio.to_thread(self.users.release_preview, user)
            raise
        return record


def _count_busy(platform: str) -> None:
    families.BUSY_REFUSALS.labels(families.bounded(platform, families.PLATFORMS), "preview").inc()
