"""The back-end a bot process talks to, assembled once: job queue, payments, event stream, state.

Each part is built from its owner's settings (``jobs.Settings``, ``payments.Settings``), so the
environment names are read in one place each. Tests build the same object around their own
redis-server and database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

import jobs
import payments
from bots.core.state import BotState
from jobs import EventConsumer, JobQueue
from payments import Fulfilment, Payments, StarsPayments
from payments.jobs_bridge import JobsFulfilment

FormatFor = Callable[[str], str]


class _FormatChoosingQueue:
    """The job queue as ``JobsFulfilment`` sees it, passing on the buyer's chosen format.

    ``JobsFulfilment.on_paid`` starts the full job without an output format (so it would always
    be MP3); this forwards every call to the real queue and fills the format in from the
    person's /settings. (Gap reported: the bridge should take the format itself.)
    """

    def __init__(self, queue: JobQueue, format_for: FormatFor) -> None:
        self._queue = queue
        self._format_for = format_for

    def submit_full(
        self, preview_job_id: str, order_id: str, output_format: str | None = None
    ) -> jobs.JobRecord:
        fmt = output_format or self._format_for(preview_job_id)
        return self._queue.submit_full(preview_job_id, order_id, output_format=fmt)

    def __getattr__(self, name: str) -> object:
        return getattr(self._queue, name)


@dataclass
class Services:
    queue: JobQueue
    payments: Payments
    state: BotState
    events: EventConsumer
    bridge: JobsFulfilment
    stars: StarsPayments
    fulfilment: Fulfilment
    event_connection: aioredis.Redis

    @classmethod
    def build(
        cls,
        platform: str,
        jobs_settings: jobs.Settings,
        payments_settings: payments.Settings,
        consumer_name: str | None = None,
    ) -> Services:
        queue = JobQueue(jobs_settings)
        pay = Payments.open(payments_settings)
        state = BotState(queue.connection, platform, jobs_settings.record_ttl_s)

        def format_for(preview_job_id: str) -> str:
            preview = queue.get(preview_job_id)
            return state.output_format(preview.user_id) if preview else "mp3"

        bridge = JobsFulfilment(_FormatChoosingQueue(queue, format_for), pay.ledger)  # type: ignore[arg-type]
        event_connection = aioredis.Redis.from_url(jobs_settings.redis_url)
        return cls(
            queue=queue,
            payments=pay,
            state=state,
            events=EventConsumer(event_connection, platform, consumer=consumer_name),
            bridge=bridge,
            stars=pay.stars(bridge.song_available),
            fulfilment=pay.fulfilment(bridge.on_paid),
            event_connection=event_connection,
        )

    @classmethod
    def from_env(cls, platform: str) -> Services:
        return cls.build(platform, jobs.Settings.from_env(), payments.Settings.from_env())

    async def close(self) -> None:
        await self.event_connection.aclose()
        self.queue.connection.close()
        self.payments.close()
