"""Back-pressure: a free preview (or karaoke render) is admitted while its expected wait is
within ``MAX_PREVIEW_WAIT_S``, and refused past it.

Invariant: a new preview is refused with :class:`BusyError` (the songs ahead and the expected
wait, :mod:`jobs.wait`) exactly when the wait the workers' own measurements give it exceeds the
bound, and a karaoke render likewise counting the renders waiting too; nothing paid, and nothing
answered from the cache, is ever refused (the callers do not ask for those). The figure follows
the live workers (RQ's worker registry) and the measured preview time, so adding a worker or a
faster one admits more at once. :meth:`Capacity.admit_preview` decides and takes the place in one
atomic step, so racing uploads cannot pass the bound.
"""

from __future__ import annotations

import redis
from rq import Queue

from jobs import wait
from jobs.errors import BusyError
from jobs.settings import Settings
from jobs.wait import WaitEstimate


class Capacity:
    """Whether the workers can take one more free job soon enough, over the queues it counts."""

    def __init__(self, connection: redis.Redis, settings: Settings, previews: Queue, renders: Queue) -> None:
        self.connection = connection
        self.settings = settings
        self.previews = previews
        self.renders = renders

    def estimate(self) -> WaitEstimate:
        """The expected wait of a preview sent now, with its inputs (takes no place)."""
        return wait.current(self.connection, self.settings, [self.previews])

    def check_previews(self) -> WaitEstimate:
        """Raise :class:`BusyError` if a new preview would wait too long. Bots call it before
        downloading an upload (a refusal then costs one Redis round trip); ``submit`` then
        decides for real with :meth:`admit_preview` (uploads decode in parallel)."""
        return _checked(self.estimate())

    def admit_preview(self, job_id: str) -> WaitEstimate:
        """Take a place for ``job_id`` if its wait is within the bound, else raise
        :class:`BusyError`; after enqueueing (or failing to), call :meth:`release`."""
        return _checked(wait.admit(self.connection, self.settings, [self.previews], job_id))

    def release(self, job_id: str) -> None:
        wait.release(self.connection, job_id)

    def check_renders(self) -> WaitEstimate:
        """The same for a karaoke preview render, which waits behind previews and renders (and
        behind every paid full song)."""
        return _checked(wait.current(self.connection, self.settings, [self.previews, self.renders]))


def _checked(estimate: WaitEstimate) -> WaitEstimate:
    if not estimate.admitted:
        raise BusyError(estimate.ahead, round(estimate.seconds))
    return estimate
