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
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

import redis
import redis.asyncio as aioredis

from jobs import keys

log = logging.getLogger(__name__)

DEFAULT_GROUP = "bots"
DEFAULT_BLOCK_MS = 5_000
DEFAULT_CLAIM_IDLE_MS = 60_000  # a pending event this old is taken over from a silent consumer
READ_COUNT = 32


class EventType(StrEnum):
    PROGRESS = "progress"  # percent in ``progress``
    RETRYING = "retrying"  # a transient error; the job will run again by itself
    DONE = "done"  # results in ``outputs`` (storage keys)
    FAILED = "failed"  # final; ``error_message`` is friendly; ``refund`` if it was paid for
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
    error_code: str = ""
    error_message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    order_id: str | None = None
    refund: bool = False  # a paid job ended without results: credit or refund the order
    attempt: int = 0
    ts: float = field(default_factory=time.time)
    stream_id: str = ""  # set when read from the stream; pass the event back to ack()

    def to_fields(self) -> dict[str, str]:
        data = asdict(self)
        data.pop("stream_id")
        return {"data": json.dumps(data, sort_keys=True)}

    @classmethod
    def from_fields(cls, stream_id: bytes | str, raw: dict[Any, Any]) -> JobEvent:
        payload = raw.get(b"data", raw.get("data"))
        known = {f.name for f in fields(cls)}
        # Ignore fields a newer publisher added, so bots and workers can be upgraded one by one.
        data = {k: v for k, v in json.loads(payload).items() if k in known}
        data["type"] = EventType(data["type"])
        sid = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
        return cls(**data, stream_id=sid)


def publish(connection: redis.Redis, event: JobEvent, maxlen: int) -> str:
    """Append an event to its platform's stream; returns the stream entry id."""
    entry = connection.xadd(
        keys.events(event.platform), event.to_fields(), maxlen=maxlen, approximate=True
    )
    return entry.decode() if isinstance(entry, bytes) else str(entry)


Handler = Callable[[JobEvent], Awaitable[None]]


class EventConsumer:
    """Async reader of one platform's events for a bot process.

    ``await consumer.run(handler)`` calls ``handler(event)`` for every event and acknowledges it
    when the handler returns; an event whose handler raised stays pending and is handed out again
    after ``claim_idle_ms``. Use one stable ``consumer`` name per bot process (the default is
    ``<platform>-<hostname>``) so a restarted bot first gets back what it had not finished.
    """

    def __init__(
        self,
        connection: aioredis.Redis,
        platform: str,
        group: str = DEFAULT_GROUP,
        consumer: str | None = None,
        claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS,
        block_ms: int = DEFAULT_BLOCK_MS,
    ) -> None:
        self.connection = connection
        self.stream = keys.events(platform)
        self.group = group
        self.consumer = consumer or f"{platform}-{socket.gethostname()}"
        self.claim_idle_ms = claim_idle_ms
        self.block_ms = block_ms
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
        ``block_ms``)."""
        await self.ensure_group()
        if self._backlog_from is not None:
            events = await self._read_group(self._backlog_from, count, block_ms=None)
            if events:
                self._backlog_from = events[-1].stream_id
                return events
            self._backlog_from = None
        now = time.monotonic()
        if now - self._last_claim >= self.claim_idle_ms / 1000:
            self._last_claim = now
            claimed = await self._claim(count)
            if claimed:
                return claimed
        wait = self.block_ms if block_ms is None else block_ms
        return await self._read_group(">", count, block_ms=wait)

    async def ack(self, event: JobEvent) -> None:
        await self.connection.xack(self.stream, self.group, event.stream_id)

    async def run(self, handler: Handler, stop: asyncio.Event | None = None) -> None:
        """Handle events until ``stop`` is set (or the task is cancelled)."""
        while stop is None or not stop.is_set():
            for event in await self.read():
                try:
                    await handler(event)
                except Exception:
                    # Left pending: it is handed out again after claim_idle_ms.
                    log.exception("event handler failed for %s %s", event.type, event.job_id)
                    continue
                await self.ack(event)

    async def _read_group(self, start: str, count: int, block_ms: int | None) -> list[JobEvent]:
        reply = await self.connection.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=count, block=block_ms
        )
        events: list[JobEvent] = []
        for _stream, entries in reply or []:
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
