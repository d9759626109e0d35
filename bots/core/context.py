"""What every part of the flow shares: the frontend, the back-end services, and small look-ups.

The job pipeline and the payments store are synchronous libraries; every call into them here goes
through a thread so a chat stays responsive while a song is decoded or a transaction commits. Two
kinds of threads, so the quick calls never queue behind the slow ones: short store and Redis calls
(a pre-checkout answer has a 10 s deadline) use asyncio's default pool; decoding and transcoding
audio (seconds each, CPU-bound) use :attr:`Context.audio_pool`, a small pool of its own, and at
most ``MAX_CONCURRENT_INTAKES`` uploads are downloaded and checked at once.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from bots.core.ports import Chat, Frontend, MessageGone, MessageRef, Person, supports_invoices
from bots.core.services import Services
from engine.karaoke import KaraokeSettings
from jobs import MAX_CONCURRENT_DECODES, JobRecord
from payments import Payments, Provider
from people import User
from texts import chat as messages
from texts import languages
from web.admission import Admission

DEFAULT_PERFORMER = "Vocal Remover"
# Threads for audio work (decode + hash at submit, transcodes for delivery): as many as the job
# queue lets decode at once, so a burst waits in this pool's queue, not in everyone's.
AUDIO_THREADS = MAX_CONCURRENT_DECODES
# Uploads being downloaded, probed and submitted at once (each holds a file on disk).
MAX_CONCURRENT_INTAKES = 4

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Context:
    frontend: Frontend
    services: Services
    spool_dir: Path
    audio_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(AUDIO_THREADS, thread_name_prefix="bot-audio")
    )
    intake_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_CONCURRENT_INTAKES))

    async def audio_work(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run CPU-heavy audio work (decode, transcode) on :attr:`audio_pool`."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.audio_pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self.audio_pool.shutdown(wait=False, cancel_futures=True)

    @functools.cached_property
    def admission(self) -> Admission:
        """Who may send a song now, and a checked song into the line (the upload page's too)."""
        return Admission(self.pay.users, self.pay.rate_limiter, self.services.queue)

    @functools.cached_property
    def text(self) -> messages.Catalogue:
        """The texts in this platform's words, with the deployment's retention time (and how
        long bought stems are kept: as long as their download links)."""
        retention_s = self.services.queue.settings.retention_s
        return messages.catalogue(self.platform, round(retention_s / 3600), self.paid_kept_days)

    @property
    def paid_kept_days(self) -> int:
        """How many days a paid order's download links and results page last after delivery —
        and so its files (``JobQueue.mark_delivered`` holds them as long); 0 without links."""
        links = self.services.links
        return round(links.ttl_s / 86400) if links else 0

    @property
    def platform(self) -> str:
        return self.frontend.platform

    @property
    def actor(self) -> str:
        """How this bot appears in the payments ledger."""
        return self.frontend.platform

    @property
    def pay(self) -> Payments:
        return self.services.payments

    def spool(self) -> Path:
        """Scratch space for files on their way in or out (one subfolder per song)."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        return self.spool_dir

    async def user(self, person: Person) -> User:
        return await asyncio.to_thread(self.pay.users.get_or_create, person.platform, person.user_id)

    async def language(self, person: Person) -> str:
        """The language ``person`` is answered in: the one they chose with /language, else
        their app's, else English (:func:`texts.languages.resolve`)."""
        known = await asyncio.to_thread(self.pay.users.get, person.platform, person.user_id)
        return languages.resolve(known.language if known else None, person.locale)

    @property
    def sold_through(self) -> Provider:
        """How this platform sells the stems first: its own invoice (Stars, or a card through a
        provider token), else the Stripe Checkout link."""
        if supports_invoices(self.frontend):
            return self.services.stars.provider
        return Provider.STRIPE

    @property
    def price(self) -> str:
        return messages.money(*self.pay.list_price(self.sold_through))

    @property
    def offers_card_link(self) -> bool:
        """A Checkout link when Stripe is set up, unless the chat's own invoice already takes
        cards: one card button, not two. A platform with its own invoices (Telegram, whose rules
        say digital goods are paid in Stars) shows it only when the deployment opts in
        (``TELEGRAM_CARD_LINKS``)."""
        if self.pay.stripe is None or self.sold_through is Provider.TELEGRAM_CARD:
            return False
        return not supports_invoices(self.frontend) or self.pay.settings.telegram_card_links

    @property
    def karaoke_enabled(self) -> bool:
        """The karaoke tools are offered (``KARAOKE_ENABLED``, on by default)."""
        return self.services.queue.settings.karaoke_enabled

    @property
    def card_too(self) -> bool:
        """Texts say "or by card" only where the card link is a second way to pay (beside an
        in-chat invoice); where it is the only way, the price already is the card price."""
        return self.offers_card_link and supports_invoices(self.frontend)

    def results_page(self, job_id: str) -> str | None:
        """The job's signed results page for an "Open in browser" button, or None where there is
        none a person could open: no ``DOWNLOAD_SECRET`` (no page is served), or a
        ``PUBLIC_BASE_URL`` on this machine's loopback (a phone cannot reach it, and Telegram
        refuses such buttons, failing the whole message)."""
        links = self.services.links
        if links is None or is_loopback_url(links.base_url):
            return None
        return links.page_url(job_id)

    def buy_link(self, job_id: str) -> str | None:
        """The preview's one-tap Buy link (``/buy/<token>``, served by the payments service: it
        opens the order's Checkout Session when tapped, so none is made for a preview nobody
        buys), where the card link is the only way to pay (no in-chat invoices) and signed links
        are set up (``DOWNLOAD_SECRET``); None: the Buy button answers with a card link."""
        links = self.services.links
        if links is None or supports_invoices(self.frontend) or not self.offers_card_link:
            return None
        return links.buy_url(job_id)

    def is_admin(self, person: Person) -> bool:
        return self.pay.settings.is_admin(person.platform, person.user_id)

    async def job(self, job_id: str | None) -> JobRecord | None:
        if not job_id:
            return None
        return await asyncio.to_thread(self.services.queue.get, job_id)

    async def owned_job(self, person: Person, job_id: str | None) -> JobRecord | None:
        """The job if it belongs to this person on this platform — never someone else's."""
        record = await self.job(job_id)
        if record is None or record.platform != person.platform:
            return None
        if record.user_id != str(person.user_id):
            return None
        return record

    async def output_format(self, user_id: str | int) -> str:
        return await asyncio.to_thread(self.services.state.output_format, user_id)

    async def karaoke(self, user_id: str | int) -> KaraokeSettings:
        return await asyncio.to_thread(self.services.state.karaoke, user_id)

    async def tags(self, record: JobRecord) -> tuple[str, str]:
        """Title and performer for the stems: what the person's app showed, else the file name."""
        for job_id in (record.id, record.source_job_id):
            if job_id:
                tags = await asyncio.to_thread(self.services.state.tags, job_id)
                if tags:
                    return tags
        return Path(record.filename or "song").stem or "song", DEFAULT_PERFORMER

    async def status(self, chat: Chat, job_id: str, text: str) -> None:
        """Edit the job's status message, or send one if there is none (a job started by a card
        payment or by recovery) or it was deleted; later updates edit the new one."""
        state = self.services.state
        ref = await asyncio.to_thread(state.status_message, job_id)
        shown = await self.show(chat, ref, text)
        if shown != ref:
            await asyncio.to_thread(state.set_status_message, job_id, shown)

    async def show(self, chat: Chat, ref: MessageRef | None, text: str) -> MessageRef:
        """Put ``text`` in the message ``ref`` — or in a new message when there is none or the
        person deleted it. Returns where the text now is."""
        if ref is not None:
            try:
                await chat.edit_text(ref, text)
                return ref
            except MessageGone:
                pass
        return await chat.send_text(text)


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.") or host.endswith(".localhost")
