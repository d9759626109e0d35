"""The back-end a bot process talks to, assembled once: job queue, payments, event stream, state.

Each part is built from its owner's settings (``jobs.Settings``, ``payments.Settings``), so the
environment names are read in one place each. Tests build the same object around their own
redis-server and database.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import redis.asyncio as aioredis

import jobs
from bots.core.state import BotState
from jobs import EventConsumer, JobQueue
from payments import Fulfilment, Payments, StarsPayments
from payments import Settings as PaymentsSettings
from web import DownloadLinks
from web.jobs_bridge import JobsFulfilment
from web.upload_links import UploadLinks


@dataclass
class Services:
    queue: JobQueue
    payments: Payments
    state: BotState
    events: EventConsumer
    bridge: JobsFulfilment
    fulfilment: Fulfilment
    event_connection: aioredis.Redis

    @functools.cached_property
    def stars(self) -> StarsPayments:
        """Telegram invoices; built on first use, so a platform without in-chat invoices
        (Discord) never builds it."""
        return self.payments.stars(self.bridge.song_available)

    @functools.cached_property
    def links(self) -> DownloadLinks | None:
        """Signed download links for stems past the upload limit; None without
        ``DOWNLOAD_SECRET`` (then such stems are refunded instead)."""
        if not self.payments.settings.download_secret:
            return None
        return DownloadLinks(self.payments.settings)

    @functools.cached_property
    def upload_links(self) -> UploadLinks | None:
        """One-time links to the upload page (songs too big for the chat); None without
        ``DOWNLOAD_SECRET`` (no page then)."""
        if not self.payments.settings.download_secret:
            return None
        return UploadLinks(self.payments.settings)

    @classmethod
    def build(
        cls,
        platform: str,
        jobs_settings: jobs.Settings,
        payments_settings: PaymentsSettings,  # (the field "payments" hides the package here)
        consumer_name: str | None = None,
    ) -> Services:
        queue = JobQueue(jobs_settings)
        pay = Payments.open(payments_settings)
        state = BotState(queue.connection, platform, jobs_settings.record_ttl_s)
        bridge = JobsFulfilment(queue, pay.ledger)
        event_connection = aioredis.Redis.from_url(jobs_settings.redis_url)
        return cls(
            queue=queue,
            payments=pay,
            state=state,
            events=EventConsumer(event_connection, platform, consumer=consumer_name),
            bridge=bridge,
            fulfilment=pay.fulfilment(bridge.on_paid),
            event_connection=event_connection,
        )

    async def close(self) -> None:
        await self.event_connection.aclose()
        self.queue.connection.close()
        self.payments.close()
