"""Fixtures for the Discord bot: the real discord.py client, built and served by
``bots.discord.app`` exactly as ``main()`` does, against :class:`FakeDiscord` on loopback (REST
and the gateway websocket), with the real job queue on the test's own ``redis-server``, a real
``python worker.py`` (tests that ask for ``worker``), the payments store on SQLite, Stripe through
the SDK against the loopback stub, and the real payments service (``web.server.serve``:
signed Stripe webhooks, download links) on a loopback port.

The Telegram fixtures of ``tests/bots/conftest.py`` (media, settings, worker) are reused.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import jobs
import payments
from bots.core.services import Services
from bots.discord.app import DiscordBot, serve
from bots.discord.config import DiscordConfig
from tests.bots.fake_discord import FakeDiscord, Message, Person
from tests.payments.conftest import session_object, sign, stripe_event
from tests.support.stripe_stub import StripeStub
from web.hooks import ServiceHooks
from web.jobs_bridge import JobsFulfilment, bot_choices, prepare_buy, upload_desk
from web.server import serve as serve_payments
from web.stripe_endpoint import STRIPE_WEBHOOK_PATH

TOKEN = "discord-test-token.not-a-real-one"
ADMIN_ID = 700_000_000_000_000_900
STRIPE_KEY = "sk_test_discord_suite"
WEBHOOK_SECRET = "whsec_discord_suite"
DOWNLOAD_SECRET = "download-secret-for-the-discord-suite"
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def webhook_port() -> int:
    return free_port()


@pytest.fixture
def payments_settings(
    payments_settings: payments.Settings, stripe_stub: StripeStub, webhook_port: int
) -> payments.Settings:
    return dataclasses.replace(
        payments_settings,
        admin_ids=frozenset({f"discord:{ADMIN_ID}"}),
        stripe_api_key=STRIPE_KEY,
        stripe_api_base=stripe_stub.url,
        stripe_webhook_secret=WEBHOOK_SECRET,
        download_secret=DOWNLOAD_SECRET,
        public_base_url=f"http://127.0.0.1:{webhook_port}",
        webhook_port=webhook_port,
    )


@dataclass
class PaymentsService:
    """``python -m web.server``'s code path, in this event loop."""

    settings: payments.Settings
    queue: jobs.JobQueue
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ready = asyncio.Event()

        def hooks(pay: payments.Payments) -> ServiceHooks:
            bridge = JobsFulfilment(self.queue, pay.ledger)
            return ServiceHooks(  # as web.jobs_bridge.service_hooks, on the test's queue
                on_paid=bridge.on_paid,
                locate_stem=bridge.locate_stem,
                job_results=bridge.job_results,
                give_up=bridge.give_up,
                prepare_buy=prepare_buy(self.queue, bot_choices(self.queue)),
                uploads=upload_desk(pay, self.queue),
            )

        self._task = asyncio.create_task(
            serve_payments(self.settings, hooks, stop=self._stop, on_ready=lambda _port: ready.set())
        )
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({self._task, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            self._task.result()
        assert ready.is_set(), "the payments service did not start"

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 30)

    @property
    def url(self) -> str:
        return self.settings.public_base_url

    async def checkout_completed(self, order_id: str, session_id: str, amount: int) -> int:
        """Stripe tells us a Checkout Session was paid: a signed event, as Stripe sends it."""
        body = stripe_event(
            "checkout.session.completed",
            session_object(order_id, id=session_id, amount_total=amount, amount_subtotal=amount),
        )
        async with aiohttp.ClientSession() as http:
            async with http.post(
                self.url + STRIPE_WEBHOOK_PATH,
                data=body,
                headers={"Stripe-Signature": sign(body, WEBHOOK_SECRET), "Content-Type": "application/json"},
            ) as response:
                return response.status


@pytest.fixture
async def payments_service(
    payments_settings: payments.Settings, jobs_settings: jobs.Settings
) -> AsyncIterator[PaymentsService]:
    queue = jobs.JobQueue(jobs_settings)
    service = PaymentsService(payments_settings, queue)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
        queue.connection.close()


@dataclass
class DiscordHarness:
    fake: FakeDiscord
    services: Services
    config: DiscordConfig
    bot: DiscordBot | None = None
    _stop: asyncio.Event | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Build the client the way ``main()`` does and serve until :meth:`stop`."""
        self.bot = DiscordBot(self.config, self.services)
        self._stop = asyncio.Event()
        task = self._task = asyncio.create_task(serve(self.bot, self._stop))
        bot = self.bot
        await self.fake.wait_for(
            lambda: (self.fake.connected and bot.is_ready()) or task.done(),
            START_TIMEOUT_S,
            "the bot to connect",
        )
        if task.done():
            task.result()

    async def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 40)
            self._task = None

    @property
    def queue(self) -> jobs.JobQueue:
        return self.services.queue

    @property
    def pay(self) -> payments.Payments:
        return self.services.payments

    def person(self, user_id: int, name: str = "tester") -> Person:
        return Person(user_id, name)

    async def preview(self, channel_id: int, after: int = 0, timeout: float = 90.0) -> list[Message]:
        """Two audio previews and the waveform with its buttons, sent after message ``after``."""

        def found() -> list[Message] | None:
            files = [m for m in self.fake.in_channel(channel_id) if m.files and m.id > after]
            waveform = [m for m in files if any(n.endswith(".png") for n in m.files)]
            return files[:3] if len(files) >= 3 and waveform else None

        return await self.fake.wait_for(found, timeout, f"a preview in {channel_id}")

    async def open_buy_link(self, waveform: Message) -> str:
        """Tap the preview's Buy button — a link — as a browser would: the Checkout URL the
        payments service redirects to (303)."""
        (url,) = [u for u in waveform.urls if "/buy/" in u]
        async with aiohttp.ClientSession() as http:
            async with http.get(url, allow_redirects=False) as response:
                assert response.status == 303, (response.status, await response.text())
                return response.headers["Location"]

    def order_of(self, person: Person) -> payments.Order:
        user = self.pay.users.get("discord", person.id)
        assert user is not None
        (order,) = self.pay.ledger.user_orders(user.id)
        return order


def job_of(waveform: Message) -> str:
    """The preview job a waveform message is about (its buy link names it)."""
    (url,) = [u for u in waveform.urls if "/buy/" in u]
    return url.rsplit("/", 1)[1].split(".")[0]


@pytest.fixture
def discord_options() -> dict[str, Any]:
    """Override in a test module to change the bot's DiscordConfig."""
    return {}


@pytest.fixture
async def fake_discord(tmp_path: Path) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(TOKEN, tmp_path / "discord-files")
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def discord_bot(
    fake_discord: FakeDiscord,
    jobs_settings: jobs.Settings,
    payments_settings: payments.Settings,
    tmp_path: Path,
    discord_options: dict[str, Any],
) -> AsyncIterator[DiscordHarness]:
    config = DiscordConfig.from_env(
        {
            "DISCORD_BOT_TOKEN": TOKEN,
            "DISCORD_API_BASE_URL": fake_discord.api_base_url,
            "DISCORD_SPOOL_DIR": str(tmp_path / "discord-spool"),
        }
    )
    config = dataclasses.replace(config, **discord_options)
    services = Services.build("discord", jobs_settings, payments_settings, consumer_name="test")
    services.events.block_ms = 200
    harness = DiscordHarness(fake_discord, services, config)
    try:
        await harness.start()
        yield harness
    finally:
        await harness.stop()
        await services.close()
