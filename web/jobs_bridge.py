"""The one module that knows the job pipeline: paid order in, full-length job out.

Kept apart so the rest of ``payments`` stays independent of Redis/RQ (tests inject plain
callables instead). Composed by ``python -m web.server``; the bots reuse ``on_paid`` after a
Stars payment, ``song_available`` for Stars pre-checkout and ``locate_stem`` for download links;
``job_results`` tells the results page (:mod:`web.results_page`) what a finished job holds.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rq.exceptions import NoSuchJobError
from rq.job import Job

from engine.karaoke import KaraokeSettings
from jobs import (
    BusyError,
    InputExpiredError,
    JobKind,
    JobNotFoundError,
    JobQueue,
    JobRecord,
    JobStatus,
    NotDeliveredError,
)
from jobs.analysis import summary_of
from jobs.errors import KaraokeInFlightError, KaraokeQuotaError
from jobs.gauges import PipelineCollector
from jobs.karaoke_jobs import pending, rq_job_id
from jobs.karaoke_variants import karaoke_key
from payments.fulfilment import FulfilmentImpossible
from payments.ledger import Ledger, OrderError
from payments.records import Order
from payments.service import Payments
from web.hooks import BuyRequest, PrepareBuy, ServiceHooks
from web.job_results import JobResults, StoredFile
from web.page_tools import PageKaraoke, PageTools, RenderAnswer, Variant, VariantState
from web.stem_cache import StemCache
from web.upload_links import UploadLinks
from web.uploads import UploadDesk

if TYPE_CHECKING:
    from bots.core.state import BotState

log = logging.getLogger(__name__)

CLAIM_PREFIX = "claim:"
# A claim younger than this means another process is submitting the job right now.
CLAIM_FRESH_S = 120.0


def _claim_age(value: str, now: float) -> float | None:
    """Seconds since a ``claim:<epoch>:<nonce>`` marker was set; None if it is a job id."""
    if not value.startswith(CLAIM_PREFIX):
        return None
    try:
        return now - float(value.split(":")[1])
    except (IndexError, ValueError):
        return float("inf")


class JobsFulfilment:
    """``on_paid`` / ``song_available`` / ``locate_stem`` backed by a ``jobs.JobQueue``."""

    def __init__(self, queue: JobQueue, ledger: Ledger) -> None:
        self.queue = queue
        self.ledger = ledger

    def on_paid(self, order: Order) -> bool:
        """Submit the full job, in the format the buyer chose, unless the order has one already.

        A job that exists is not submitted again: while it runs it will finish; when it ended,
        its DONE/FAILED event makes the bot deliver or refund — also for an answer from the
        same-song cache, and for a song that expired before the payment (a failed job with a
        refund event). The stream may have trimmed that event before any bot read it, so an
        ended job is reconciled (:meth:`_reconcile`): its end is published again when the
        stream lost it (an attempt, so recovery's limit still ends in a refund), and an order
        whose stems the job's record says were delivered is marked delivered. Only a job that
        vanished (or never started) is submitted again.
        Two processes racing here agree through a compare-and-set claim on the order row.
        """
        fresh = self.ledger.get_order(order.id)
        if fresh is None:
            raise OrderError(f"no order {order.id}")
        current = fresh.fulfil_job_id
        now = time.time()
        if current is not None:
            age = _claim_age(current, now)
            if age is None and (record := self.queue.get(current)) is not None:
                return self._reconcile(fresh, record)
            if age is not None and age < CLAIM_FRESH_S:
                log.info("order %s is being submitted by another process", order.id)
                return False
        claim = f"{CLAIM_PREFIX}{now:.3f}:{uuid.uuid4().hex[:8]}"
        if not self.ledger.swap_fulfil_job(order.id, current, claim):
            return False  # another process claimed it between our read and our write
        try:
            try:
                record = self.queue.submit_full(
                    fresh.job_id,
                    fresh.id,
                    output_format=fresh.output_format,
                    karaoke=fresh.karaoke,
                )
            except InputExpiredError as exc:
                # The song is gone: a full job that failed at once, whose FAILED event
                # (refund=True) makes the person's bot refund and tell them, from whichever
                # process took the payment.
                record = self.queue.fail_full(fresh.job_id, fresh.id, exc, output_format=fresh.output_format)
                log.warning("order %s: the song expired; failed job %s", order.id, record.id)
        except JobNotFoundError as exc:  # not even the preview's record: nobody to tell
            raise FulfilmentImpossible(exc.code) from exc
        self.ledger.swap_fulfil_job(order.id, claim, record.id)
        log.info("order %s: full job %s submitted", order.id, record.id)
        return True

    def _reconcile(self, order: Order, record: JobRecord) -> bool:
        """A paid order whose job exists: True only if its end had to be handed over again.

        Recovery runs this every few minutes, so a paid order whose job has finished ends
        delivered or refunded within a round or two whatever the event stream kept: the bot
        handles the re-published event (delivering once, ``record.delivered_at``) or gives it up
        into a refund after its retries."""
        if record.status is JobStatus.DONE and record.delivered_at is not None:
            # The stems reached the person; only the ledger's "delivered" was lost.
            if self.ledger.mark_delivered(order.id, "recovery"):
                log.warning("order %s: job %s was delivered; ledger caught up", order.id, record.id)
            return False
        if self.queue.redeliver(record.id):
            log.warning(
                "order %s: the end of job %s (%s) was no longer in the stream; published again",
                order.id,
                record.id,
                record.status,
            )
            return True
        log.info("order %s already has job %s", order.id, record.id)
        return False

    def give_up(self, order: Order, reason: str) -> bool:
        """Recovery gives up an order that was started too often without delivery: hand it to
        the person's bot, which refunds it once and tells them why — a live job is cancelled,
        else the order's full job is recorded as failed (a job that finished but was never
        delivered lets its files go first); either way an event with ``refund=True`` follows.
        An order whose job's record says its stems were delivered is marked delivered instead.
        True if handed over (also when it already was, so repeated recoveries add nothing);
        False if nobody is left to tell (the preview's record is gone): recovery refunds it
        itself."""
        fresh = self.ledger.get_order(order.id) or order
        current = fresh.fulfil_job_id
        record = None
        if current is not None and _claim_age(current, time.time()) is None:
            record = self.queue.get(current)
        if record is not None and not record.finished and self.queue.cancel(record.id):
            log.warning("order %s: %s; cancelled job %s", order.id, reason, record.id)
            return True
        if record is not None and record.error_code == NotDeliveredError.code:
            return True  # handed over before: its event waits for the bot
        if record is not None and record.status is JobStatus.DONE and record.delivered_at:
            # The stems reached the person and only the ledger's "delivered" was lost: never a
            # refund for what they have (as :meth:`_reconcile` does before the last attempt).
            self.ledger.mark_delivered(order.id, "recovery")
            log.warning("order %s: job %s was delivered; ledger caught up", order.id, record.id)
            return True
        if record is not None and record.status is JobStatus.DONE:
            # Finished, never delivered: the order ends refunded either way (by its bot or by
            # recovery), so its stems, song and reused stems go back to normal retention now —
            # the failed job below holds none of them, and nothing else would ever unpin them.
            self.queue.release(record.id)
        try:
            failed = self.queue.fail_full(
                fresh.job_id, fresh.id, NotDeliveredError(reason), output_format=fresh.output_format
            )
        except JobNotFoundError:
            return False
        self.ledger.swap_fulfil_job(order.id, current, failed.id)
        log.warning("order %s: %s; failed job %s tells the person's bot", order.id, reason, failed.id)
        return True

    def song_available(self, order: Order) -> bool:
        """Is the preview's uploaded song still stored (so a full job can run)?"""
        preview = self.queue.get(order.job_id)
        return preview is not None and self.queue.storage.exists(preview.input_key)

    def locate_stem(self, order: Order, name: str) -> Path | str | None:
        """A local file or presigned URL for one output of the order's finished job."""
        if not order.fulfil_job_id or order.fulfil_job_id.startswith(CLAIM_PREFIX):
            return None
        record = self.queue.get(order.fulfil_job_id)
        if record is None or record.status is not JobStatus.DONE:
            return None
        key = record.own_outputs().get(name)
        if key is None or not self.queue.storage.exists(key):
            return None
        return self.queue.storage.local_path(key) or self.queue.storage.url(key)

    def job_results(self, job_id: str) -> JobResults | None:
        """A finished job's page data: its outputs still stored (local files or presigned URLs),
        its title (the file name, as the bots fall back to), its owner and model version."""
        record = self.queue.get(job_id)
        if record is None or record.status is not JobStatus.DONE:
            return None
        storage = self.queue.storage
        files: dict[str, StoredFile] = {}
        for name, key in record.own_outputs().items():
            suffix = Path(key).suffix.lower()
            path = storage.local_path(key)
            if path is not None:
                try:
                    files[name] = StoredFile(path, suffix, path.stat().st_size)
                except FileNotFoundError:  # retention deleted it just now
                    continue
            elif storage.exists(key) and (url := storage.url(key)):
                files[name] = StoredFile(url, suffix)
        preview = record.kind is JobKind.PREVIEW
        source = None
        if not preview and record.source_job_id:
            source = self.queue.get(record.source_job_id)  # its preview: to note a difference
        length = record.duration_s
        if preview:
            window = self.queue.settings.preview_length_s
            length = min(length, window) if length else window
        return JobResults(
            job_id=record.id,
            preview=preview,
            title=Path(record.filename or "song").stem.replace("_", " ").strip() or "song",
            platform=record.platform,
            user_id=record.user_id,
            model_version=record.model_version,
            order_id=record.order_id,
            clip_s=length,
            start_s=record.preview_start_s,
            files=files,
            analysis=summary_of(record),
            preview_analysis=summary_of(source) if source is not None else None,
            language=record.language,
        )


# (platform, user id) → the person's chosen output format and karaoke version (compact form, or
# None for stems only), as their bot saved them.
Choices = Callable[[str, str], tuple[str | None, str | None]]


def bot_choices(queue: JobQueue) -> Choices:
    """The choices the bots keep in Redis (``bots.core.state``), read as their Buy button does:
    the karaoke version only where karaoke is offered, and none for the original settings."""
    from bots.core.state import BotState  # here, not at the top: the bots import this module

    def read(platform: str, user_id: str) -> tuple[str | None, str | None]:
        state = BotState(queue.connection, platform, queue.settings.record_ttl_s)
        karaoke = state.karaoke(user_id) if queue.settings.karaoke_enabled else None
        return state.output_format(user_id), (
            None if karaoke is None or karaoke.is_identity else karaoke.to_string()
        )

    return read


def prepare_buy(queue: JobQueue, choices: Choices) -> PrepareBuy:
    """The buy-link hook: a finished preview's order request, after restarting its song's
    retention clock (someone is about to pay; the session must expire before the song does)."""

    def prepare(job_id: str) -> BuyRequest | None:
        record = queue.get(job_id)
        if record is None or record.kind is not JobKind.PREVIEW or record.status is not JobStatus.DONE:
            return None
        try:
            keep_s = queue.keep_song(record.id)
        except (JobNotFoundError, InputExpiredError):  # the song is gone already
            return None
        fmt, karaoke = choices(record.platform, record.user_id)
        return BuyRequest(
            platform=record.platform,
            user_id=record.user_id,
            song_key=record.content_hash,
            job_id=record.id,
            keep_s=keep_s,
            output_format=fmt,
            karaoke=karaoke,
            language=record.language,
        )

    return prepare


class PageJobs:
    """The results page's mixer and karaoke hooks (:mod:`web.page_tools`) over a queue."""

    def __init__(self, queue: JobQueue, cache: StemCache | None = None) -> None:
        self.queue = queue
        self.cache = cache or StemCache(queue.storage.get_file)

    def _finished(self, job_id: str) -> JobRecord | None:
        record = self.queue.get(job_id)
        return record if record is not None and record.status is JobStatus.DONE else None

    def read_stem(self, job_id: str, name: str) -> Path | None:
        """A finished job's own output as a local file: the stored one, or an S3 object's copy."""
        record = self._finished(job_id)
        key = None if record is None else record.own_outputs().get(name)
        if key is None:
            return None
        storage = self.queue.storage
        path = storage.local_path(key)
        if path is not None:
            return path if path.is_file() else None
        if not storage.exists(key):
            return None
        return self.cache.path(key)

    def render(self, job_id: str, settings: KaraokeSettings) -> RenderAnswer:
        """As a preview's karaoke tap in the chat (``bots.core.karaoke_tools``): the render on
        the karaoke queue under the same limits, and the owner's preference saved when it is
        asked for (or is the original), so a later purchase orders it."""
        record = self._finished(job_id)
        if record is None or record.kind is not JobKind.PREVIEW:
            return RenderAnswer.GONE
        queued = False
        if not settings.is_identity:
            try:
                queued = self.queue.render_karaoke(record.id, settings)
            except JobNotFoundError:
                return RenderAnswer.GONE
            except KaraokeInFlightError:
                return RenderAnswer.ONE_AT_A_TIME
            except KaraokeQuotaError:
                return RenderAnswer.QUOTA
            except BusyError:
                return RenderAnswer.BUSY
        self._state(record.platform).set_karaoke(record.user_id, settings)
        if settings.is_identity:
            return RenderAnswer.ORIGINAL
        return RenderAnswer.QUEUED if queued else RenderAnswer.ALREADY

    def variant(self, job_id: str, settings: KaraokeSettings) -> Variant:
        """Where a preview's karaoke version stands: stored (ready), being made, failed, never
        asked for. The original settings are the instrumental itself."""
        record = self._finished(job_id)
        instrumental = None if record is None else record.outputs.get("instrumental")
        if record is None or instrumental is None:
            return Variant(VariantState.NONE)
        fmt = Path(instrumental).suffix.lstrip(".").lower()
        key = instrumental if settings.is_identity else karaoke_key(record.id, settings, fmt)
        storage = self.queue.storage
        if storage.exists(key):
            path = storage.local_path(key)
            location: Path | str | None = path if path is not None else storage.url(key)
            if location is not None:
                size = path.stat().st_size if path is not None and path.is_file() else None
                return Variant(VariantState.READY, StoredFile(location, f".{fmt}", size))
        if pending(self.queue.connection, record, settings):
            return Variant(VariantState.PENDING)
        try:
            Job.fetch(rq_job_id(record.id, settings), connection=self.queue.connection)
        except NoSuchJobError:
            return Variant(VariantState.NONE)
        return Variant(VariantState.FAILED)  # its RQ job ended, and no file came of it

    def preference(self, platform: str, user_id: str) -> KaraokeSettings:
        return self._state(platform).karaoke(user_id)

    def _state(self, platform: str) -> BotState:
        from bots.core.state import BotState  # as bot_choices: the bots import this module

        return BotState(self.queue.connection, platform, self.queue.settings.record_ttl_s)

    def tools(self) -> PageTools:
        settings = self.queue.settings
        karaoke = (
            PageKaraoke(self.render, self.variant, self.preference, settings.karaoke_renders_per_day)
            if settings.karaoke_enabled
            else None
        )
        return PageTools(self.read_stem, karaoke)


def upload_desk(payments: Payments, queue: JobQueue) -> UploadDesk | None:
    """Where songs sent by upload link come in; None without ``DOWNLOAD_SECRET`` (no links)."""
    settings = payments.settings
    if not settings.download_secret:
        return None
    spool = Path(settings.upload_spool_dir or tempfile.gettempdir()) / "vocal-remover-uploads"
    return UploadDesk(payments, queue, UploadLinks(settings), spool)


def service_hooks(payments: Payments) -> ServiceHooks:
    """Hooks for ``web.server.serve``, with a queue configured from the environment."""
    queue = JobQueue.from_env()
    bridge = JobsFulfilment(queue, payments.ledger)
    return ServiceHooks(
        on_paid=bridge.on_paid,
        locate_stem=bridge.locate_stem,
        job_results=bridge.job_results,
        give_up=bridge.give_up,
        prepare_buy=prepare_buy(queue, bot_choices(queue)),
        page_tools=PageJobs(queue).tools(),
        collectors=(PipelineCollector(queue.connection, queue.expected_wait),),
        uploads=upload_desk(payments, queue),
        close=queue.connection.close,
    )
