"""Back-pressure: a free preview (or karaoke render) is refused while too many already wait.

Invariant: a new preview is refused with :class:`BusyError` once at least
``max_waiting_previews_per_worker`` × live workers (at least one) previews are queued, and a
karaoke render once previews and renders waiting together reach that limit; nothing paid, and
nothing answered from the cache, is ever refused (the callers do not ask for those). The limit
follows the live workers (RQ's worker registry), so adding a worker raises it at once.
"""

from __future__ import annotations

import redis
from rq import Queue, Worker

from jobs.errors import BusyError
from jobs.settings import Settings


class Capacity:
    """Whether the workers can take one more free job, over the queues it counts."""

    def __init__(self, connection: redis.Redis, settings: Settings, previews: Queue, renders: Queue) -> None:
        self.connection = connection
        self.settings = settings
        self.previews = previews
        self.renders = renders

    def check_previews(self) -> None:
        """Raise :class:`BusyError` if a new preview would wait too long. Bots call it before
        downloading an upload (a refusal then costs one Redis round trip) and ``submit`` again
        before queueing one (uploads decode in parallel)."""
        self._check_waiting(self.previews.count)

    def check_renders(self) -> None:
        """The same for a karaoke preview render, which waits behind previews and renders (and
        behind every paid full song)."""
        self._check_waiting(self.previews.count + self.renders.count)

    def _check_waiting(self, waiting: int) -> None:
        workers = Worker.count(connection=self.connection)
        if waiting >= self.settings.max_waiting_previews_per_worker * max(1, workers):
            raise BusyError(waiting)
