"""What every part of the job API shares: the connections, the record store, and small helpers.

:class:`QueueBase` holds one process's Redis connection, storage, record store and the two RQ
queues; the concerns built on it live one per module — :mod:`jobs.line` (a job's place in line,
the per-user slot, cancelling), :mod:`jobs.submit` (accepting a song, the cache answer, the paid
full job), :mod:`jobs.queue` (payment, delivery, results) and :mod:`jobs.forget` (``/forget``).
Every record is created here (:meth:`QueueBase._create`), so every record is listed under its
person and ``/forget`` finds it.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis
from rq import Queue

from jobs import keys, replies, retention
from jobs.errors import JobNotFoundError
from jobs.records import JobKind, JobRecord, RecordStore
from jobs.settings import Settings
from jobs.storage import Storage, open_storage

_PLATFORM_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


def check_platform(platform: str) -> str:
    """``platform`` is part of Redis keys: lowercase letters, digits, ``_`` and ``-`` only."""
    if not platform or not set(platform) <= _PLATFORM_CHARS:
        raise ValueError(f"platform must be lowercase letters/digits, got {platform!r}")
    return platform


class QueueBase:
    """Client state of the job pipeline; one per process, safe to share between threads."""

    def __init__(
        self,
        settings: Settings | None = None,
        connection: redis.Redis | None = None,
        storage: Storage | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.connection = connection or redis.Redis.from_url(self.settings.redis_url)
        self.storage = storage or open_storage(self.settings)
        self.records = RecordStore(self.connection, self.settings.record_ttl_s)
        self.queues = {
            JobKind.PREVIEW: Queue(keys.PREVIEW_QUEUE, connection=self.connection),
            JobKind.FULL: Queue(keys.FULL_QUEUE, connection=self.connection),
        }
        # Karaoke preview clips: no job kind of their own (no record), after the full queue.
        self.karaoke_queue = Queue(keys.KARAOKE_QUEUE, connection=self.connection)

    def get(self, job_id: str) -> JobRecord | None:
        return self.records.get(job_id)

    def model_version(self) -> str | None:
        """The model version the workers announced (None before any worker has started)."""
        raw = self.connection.get(keys.MODEL_VERSION)
        return replies.text(raw) if raw else None

    def _require(self, job_id: str) -> JobRecord:
        record = self.records.get(job_id)
        if record is None:
            raise JobNotFoundError(job_id)
        return record

    def _create(self, record: JobRecord, pipeline: redis.client.Pipeline | None = None) -> None:
        """Store a new record and list it under its person (what /forget deletes)."""
        pipe = pipeline if pipeline is not None else self.connection.pipeline()
        self.records.create(record, pipe)
        index = keys.user_jobs(record.platform, record.user_id)
        pipe.sadd(index, record.id)
        pipe.expire(index, int(self.settings.record_ttl_s))
        if pipeline is None:
            pipe.execute()

    @staticmethod
    def _stored_keys(record: JobRecord) -> Iterable[str]:
        return [record.input_key, *record.outputs.values()]

    def _release_paid_input(self, record: JobRecord) -> None:
        """A paid job ended without results (failed, cancelled; the order is refunded): drop its
        order's pins on everything it holds — the song, and the stored stems a karaoke order
        reuses (``submit_full`` pinned those too) — so normal retention applies again. Another
        order's pins on the same objects stay."""
        if record.order_id:
            retention.unpin(self.connection, self.storage, self._stored_keys(record), record.order_id)
