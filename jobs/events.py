"""Job events: the worker publishes, the bots consume, and a bot that restarts misses nothing.

Each platform has one Redis Stream (``vr:events:telegram``, ``vr:events:discord``). Bots read it
through a *consumer group*: Redis remembers which entries the group has been given and which each
consumer has acknowledged, so

* an event published while every bot is down waits in the stream until a bot comes back;
* an event handed to a bot that crashed before acknowledging stays *pending* and is handed out
  again — to the same consumer when it restarts under the same name (the default name is stable
  per host), or to another replica once it has been idle for ``claim_idle_ms``.

Delivery is therefore at-least-once: handlers must be idempotent (check ``record.delivered_at``
before sending results twice). Progress events are throttled by the worker; the stream is trimmed
to about ``EVENTS_MAXLEN`` entries so it cannot grow without bound.

:meth:`EventConsumer.run` handles events concurrently — one person's 50 MB upload must not hold up
everyone else's progress messages — up to ``concurrency`` at a time, while the events of one job
are handled one after another, in stream order. An event whose handler keeps failing (a person who
blocked the bot) is not retried forever: after ``max_deliveries`` deliveries (Redis counts them,
``XPENDING``) the ``give_up`` hook runs (the bot refunds a paid result it cannot hand over), the
event is copied to the platform's dead-letter stream (``vr:events:<platform>:dead``, for
operators) and acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

import redis
import redis.asyncio as aioredis

from jobs import keys, replies

log = logging.getLogger(__name__)

DEFAULT_GROUP = "bots"
# Kept well under redis-py's default socket timeout (5 s): a blocking read that outlasts it
# fails with a TimeoutError instead of returning empty.
DEFAULT_BLOCK_MS = 2_000
# After Redis could not be reached, wait this long before reading again.
REDIS_RETRY_S = 1.0
DEFAULT_CLAIM_IDLE_MS = 60_000  # a pending event this old is taken over from a silent consumer
READ_COUNT = 32
# Events handled at once by one consumer; one job's events never overlap.
DEFAULT_CONCURRENCY = 8
# Events read ahead of the handlers (per unit of concurrency), so reading pauses under load.
READ_AHEAD_FACTOR = 4
# A failing event is handed out this many times (one claim period apart), then given up.
DEFAULT_MAX_DELIVERIES = 5
DEAD_LETTER_MAXLEN = 10_000
# How long run() lets running handlers finish once told to stop, before cancelling them.
STOP_GRACE_S = 20.0


# ``JobEvent.kind`` of a karaoke variant rendered for a finished preview (jobs/karaoke_jobs.py):
# DONE carries ``outputs["karaoke"]``, FAILED an ``error_code`` (and params); never a refund.
KARAOKE_KIND = "karaoke"
# ``JobEvent.kind`` of a song that came in through an upload link (web/uploads.py): its preview
# job (``job_id``) is queued, or answered from the cache; type DONE (the upload is done). The
# bot carries on in the chat as for a song sent there: status message, then the job's events.
UPLOAD_KIND = "upload"


class EventType(StrEnum):
    PROGRESS = "progress"  # percent in ``progress``
    WAITING = "waiting"  # still in line: ``place`` and ``wait_s`` now (jobs/wait_updates.py)
    RETRYING = "retrying"  # a transient error; the job will run again by itself
    DONE = "done"  # results in ``outputs`` (storage keys)
    FAILED = "failed"  # final; why in ``error_code``/``error_params``; ``refund`` if paid for
    CANCELLED = "cancelled"  # final; ``refund`` if it was paid for


@dataclass
class JobEvent:
    """One event about one job, carrying enough to answer the person without a lookup."""

    type: EventType
    job_id: str
    platform: str
    user_id: str
    chat_id: str
    kind: str
    progress: int = 0
    place: int = 0  # WAITING: 1 is next in line
    wait_s: float = 0.0  # WAITING: seconds until the preview should be ready
    error_code: str = ""  # a ``service.errors.ErrorCode``, worded by ``texts.error_text``
    error_params: dict[str, Any] = field(default_factory=dict)
    # Events published before the catalogue carried words instead: read as the fallback, and
    # written only when re-publishing such a record's end (``lifecycle.republish_end``).
    error_message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    order_id: str | None = None
    refund: bool = False  # a paid job ended without results: credit or refund the order
    karaoke: str = ""  # kind "karaoke": the rendered variant's settings (compact form)
    language: str = ""  # the job record's: the language its answers are in ("" for English)
    attempt: int = 0
    ts: float = field(default_factory=time.time)
    stream_id: str = ""  # set when read from the stream; pass the event back to ack()
    deliveries: int = 0  # set when read again: how often Redis has handed it out so far

    def to_fields(self) -> dict[str, str]:
        data = asdict(self)
        data.pop("stream_id")
        data.pop("deliveries")
        if not data["error_message"]:
            data.pop("error_message")
        return {"data": json.dumps(data, sort_keys=True)}

    @classmethod
    def from_fields(cls, stream_id: bytes | str, raw: dict[Any, Any]) -> JobEvent:
        payload = raw[b"data"] if b"data" in raw else raw["data"]
        known = {f.name for f in fields(cls)}
        # Ignore fields a newer publisher added, so bots and workers can be upgraded one by one.
        data = {k: v for k, v in json.loads(payload).items() if k in known}
        data["type"] = EventType(data["type"])
        sid = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
        return cls(**data, stream_id=sid)


def publish(connection: redis.Redis, event: JobEvent, maxlen: int) -> str:
    """Append an event to its platform's stream; returns the stream entry id."""
    entry = connection.xadd(
        keys.events(event.platform),
        replies.fields(event.to_fields()),
        maxlen=maxlen,
        approximate=True,
    )
    return entry.decode() if isinstance(entry, bytes) else str(entry)


Handler = Callable[[JobEvent], Awaitable[None]]
# Called once for an event that failed ``max_deliveries`` times, with the last error (None when a
# delivery never came back: the process died handling it). Raising leaves the event pending.
GiveUp = Callable[[JobEvent, BaseException | None], Awaitable[None]]


class EventConsumer:
    """Async reader of one platform's events for a bot process.

    ``await consumer.run(handler, stop, give_up)`` calls ``handler(event)`` for every event —
    several jobs at once, each job's events in order — and acknowledges an event when its handler
    returns. An event whose handler raised stays pending and is handed out again after
    ``claim_idle_ms``, up to ``max_deliveries`` times. Use one stable ``consumer`` name per bot
    process (the default is ``<platform>-<hostname>``) so a restarted bot first gets back what it
    had not finished.
    """

    def __init__(
        self,
        connection: aioredis.Redis,
        platform: str,
        group: str = DEFAULT_GROUP,
        consumer: str | None = None,
        claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS,
        block_ms: int = DEFAULT_BLOCK_MS,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
    ) -> None:
        self.connection = connection
        self.stream = keys.events(platform)
        self.dead_stream = keys.dead_events(platform)
        self.group = group
        self.consumer = consumer or f"{platform}-{socket.gethostname()}"
        self.claim_idle_ms = claim_idle_ms
        self.block_ms = block_ms
        self.concurrency = concurrency
        self.max_deliveries = max_deliveries
        self._backlog_from: str | None = "0"  # own pending entries after this id; None: done
        self._last_claim = 0.0

    async def ensure_group(self) -> None:
        """Create the group reading from the stream's start, so nothing published before the
        first bot ever started is missed. Safe to call many times."""
        try:
            await self.connection.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, count: int = READ_COUNT, block_ms: int | None = None) -> list[JobEvent]:
        """The next events for this consumer: its own unacknowledged backlog first (after a
        restart), then stale events of silent consumers, then new ones (waiting up to
        ``block_ms``). Events handed out before carry ``deliveries`` (how often, so far)."""
        await self.ensure_group()
        if self._backlog_from is not None:
            events = await self._read_group(self._backlog_from, count, block_ms=None)
            if events:
                self._backlog_from = events[-1].stream_id
                return await self._with_deliveries(events)
            self._backlog_from = None
        now = time.monotonic()
        if now - self._last_claim >= self.claim_idle_ms / 1000:
            self._last_claim = now
            claimed = await self._claim(count)
            if claimed:
                return await self._with_deliveries(claimed)
        wait = self.block_ms if block_ms is None else block_ms
        return await self._read_group(">", count, block_ms=wait)

    async def ack(self, event: JobEvent) -> None:
        await self.connection.xack(self.stream, self.group, event.stream_id)

    async def deliveries(self, event: JobEvent) -> int:
        """How many times Redis has handed this (pending) event out; 0 if it is not pending."""
        rows = await self.connection.xpending_range(
            self.stream, self.group, min=event.stream_id, max=event.stream_id, count=1
        )
        return int(rows[0]["times_delivered"]) if rows else 0

    async def dead_letter(self, event: JobEvent, error: BaseException | None) -> None:
        """Copy an event that could not be handled to the dead-letter stream and acknowledge it:
        it leaves the retry loop but stays visible to operators (``XRANGE <dead stream>``)."""
        reason = (
            f"{type(error).__name__}: {error}"
            if error is not None
            else "no answer (failed before, or the process died handling it)"
        )
        log.error(
            "giving up on %s event of job %s after %d deliveries: %s",
            event.type,
            event.job_id,
            event.deliveries,
            reason,
        )
        await self.connection.xadd(
            self.dead_stream,
            replies.fields(
                {
                    **event.to_fields(),
                    "stream_id": event.stream_id,
                    "deliveries": str(event.deliveries),
                    "error": reason[:1000],
                    "consumer": self.consumer,
                    "ts": f"{time.time():.3f}",
                }
            ),
            maxlen=DEAD_LETTER_MAXLEN,
            approximate=True,
        )
        await self.ack(event)

    async def keep_claimed(self, events: list[JobEvent]) -> None:
        """Reset the idle time of events still being handled (``XCLAIM ... JUSTID``: no
        delivery is counted), so a long upload is not taken over by another replica."""
        if events:
            await self.connection.xclaim(
                self.stream,
                self.group,
                self.consumer,
                0,
                [e.stream_id for e in events],
                justid=True,
            )

    async def run(
        self, handler: Handler, stop: asyncio.Event | None = None, give_up: GiveUp | None = None
    ) -> None:
        """Handle events until ``stop`` is set (running handlers get ``STOP_GRACE_S`` to finish)
        or the task is cancelled (running handlers are cancelled; their events stay pending)."""
        dispatcher = _Dispatcher(self, handler, give_up)
        try:
            while stop is None or not stop.is_set():
                if not await dispatcher.wait_for_room(self.block_ms / 1000):
                    await dispatcher.heartbeat()  # all busy: keep their claims fresh meanwhile
                    continue
                try:
                    events = await self.read(count=min(READ_COUNT, dispatcher.room))
                except (redis.ConnectionError, redis.TimeoutError):
                    # Redis restarting or a network blip: nothing is lost (the group remembers
                    # where we were); read again shortly.
                    log.warning("reading job events failed; retrying", exc_info=True)
                    await asyncio.sleep(REDIS_RETRY_S)
                    continue
                for event in events:
                    dispatcher.submit(event)
                await dispatcher.heartbeat()
            await dispatcher.drain(STOP_GRACE_S)
        finally:
            await dispatcher.cancel()

    async def _read_group(self, start: str, count: int, block_ms: int | None) -> list[JobEvent]:
        reply = await self.connection.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=count, block=block_ms
        )
        events: list[JobEvent] = []
        for _stream, entries in replies.stream_read(reply):
            for stream_id, raw in entries:
                if raw:  # a trimmed entry comes back empty; nothing to handle
                    events.append(JobEvent.from_fields(stream_id, raw))
                else:
                    await self.connection.xack(self.stream, self.group, stream_id)
        return events

    async def _claim(self, count: int) -> list[JobEvent]:
        reply = await self.connection.xautoclaim(
            self.stream, self.group, self.consumer, self.claim_idle_ms, "0-0", count=count
        )
        entries = reply[1] if reply else []
        return [JobEvent.from_fields(sid, raw) for sid, raw in entries if raw]

    async def _with_deliveries(self, events: list[JobEvent]) -> list[JobEvent]:
        for event in events:
            event.deliveries = await self.deliveries(event)
        return events


class _Dispatcher:
    """Runs handlers concurrently for :meth:`EventConsumer.run`: a FIFO per job (events of one
    job in stream order, one at a time), at most ``concurrency`` handlers at once, and at most
    ``READ_AHEAD_FACTOR × concurrency`` events held, so reading waits when handlers fall behind."""

    def __init__(self, consumer: EventConsumer, handler: Handler, give_up: GiveUp | None) -> None:
        self.consumer = consumer
        self.handler = handler
        self.give_up = give_up
        self.limit = max(1, consumer.concurrency) * READ_AHEAD_FACTOR
        self._slots = asyncio.Semaphore(max(1, consumer.concurrency))
        self._per_job: dict[str, deque[JobEvent]] = {}
        self._held: dict[str, JobEvent] = {}  # stream id -> event, queued or running
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._last_heartbeat = time.monotonic()

    @property
    def room(self) -> int:
        return max(0, self.limit - len(self._held))

    async def wait_for_room(self, timeout: float) -> bool:
        """Wait until another event may be read; False if still full after ``timeout``."""
        if not self.room:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                pass
        return self.room > 0

    def submit(self, event: JobEvent) -> None:
        if event.stream_id in self._held:
            return  # our own slow handler's event, claimed back: it is still being handled
        self._held[event.stream_id] = event
        queue = self._per_job.get(event.job_id)
        if queue is not None:
            queue.append(event)  # the job's runner takes it after the ones before it
            return
        self._per_job[event.job_id] = deque([event])
        task = asyncio.create_task(self._run_job(event.job_id), name=f"job-events-{event.job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def heartbeat(self) -> None:
        now = time.monotonic()
        if now - self._last_heartbeat >= self.consumer.claim_idle_ms / 3000 and self._held:
            self._last_heartbeat = now
            try:
                await self.consumer.keep_claimed(list(self._held.values()))
            except redis.RedisError:
                log.warning("could not refresh the claim on running events", exc_info=True)

    async def drain(self, timeout: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def cancel(self) -> None:
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_job(self, job_id: str) -> None:
        queue = self._per_job[job_id]
        try:
            while queue:
                event = queue[0]
                try:
                    async with self._slots:
                        await self._handle(event)
                except Exception:  # Redis down while acking: the event stays pending
                    log.exception("finishing %s event of job %s failed", event.type, job_id)
                finally:
                    queue.popleft()
                    self._held.pop(event.stream_id, None)
                    self._changed.set()
        finally:
            self._per_job.pop(job_id, None)

    async def _handle(self, event: JobEvent) -> None:
        consumer = self.consumer
        if event.deliveries > consumer.max_deliveries:
            # Handed out again and again without an answer: the handler kills the process.
            await self._give_up(event, None)
            return
        try:
            await self.handler(event)
        except Exception as exc:
            log.exception("event handler failed for %s %s", event.type, event.job_id)
            try:
                event.deliveries = await consumer.deliveries(event)
            except redis.RedisError:
                return  # left pending; counted next time
            if event.deliveries >= consumer.max_deliveries:
                await self._give_up(event, exc)
            return  # else left pending: handed out again after claim_idle_ms
        await consumer.ack(event)

    async def _give_up(self, event: JobEvent, error: BaseException | None) -> None:
        if self.give_up is not None:
            try:
                await self.give_up(event, error)
            except Exception:
                # Stays pending: giving up (a refund) must happen, so it is tried again.
                log.exception("give-up hook failed for %s %s", event.type, event.job_id)
                return
        await self.consumer.dead_letter(event, error)
