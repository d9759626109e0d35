"""After a job ended: pins on paid results, delivery, results fetched, a final event sent again.

:class:`Delivery` is one part of :class:`jobs.queue.JobQueue`, built on its connection, storage
and record store. Invariant: a paid job's stored song and results carry its order's pin from
payment (``submit_full`` pins them) until they were delivered (:meth:`Delivery.mark_delivered`)
or the order is refunded (:meth:`Delivery.release`, :func:`end_without_results`), so
retention never deletes what is still owed; an order's pins never touch another order's.
All methods block.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import redis

from jobs import keys, lifecycle, retention
from jobs.errors import InputExpiredError
from jobs.records import JobRecord, JobStatus, RecordStore
from jobs.settings import Settings
from jobs.storage import Storage


def stored_keys(record: JobRecord) -> Iterable[str]:
    """Everything a job holds in storage: its song and its results."""
    return [record.input_key, *record.outputs.values()]


def release_paid(connection: redis.Redis, storage: Storage, record: JobRecord) -> None:
    """A paid job ended without results (failed, cancelled; the order is refunded): drop its
    order's pins on everything it holds — the song, and the stored stems a karaoke order
    reuses (``submit_full`` pinned those too) — so normal retention applies again. Another
    order's pins on the same objects stay."""
    if record.order_id:
        retention.unpin(connection, storage, stored_keys(record), record.order_id)


def end_without_results(
    connection: redis.Redis,
    storage: Storage,
    record: JobRecord,
    status: JobStatus,
    maxlen: int,
    *,
    error_code: str,
    error_params: Mapping[str, Any] | None = None,
) -> bool:
    """End a job that has no results (failed, cancelled). Its order's pins go *before* the end
    is announced, so whoever sees the end (and the refund it asks for) sees the song released.
    False, as :func:`jobs.lifecycle.finish`, if the job had already ended."""
    release_paid(connection, storage, record)
    return lifecycle.finish(
        connection, record, status, maxlen, error_code=error_code, error_params=error_params
    )


class Delivery:
    """Pins, delivery and results of ended jobs."""

    def __init__(
        self, connection: redis.Redis, settings: Settings, storage: Storage, records: RecordStore
    ) -> None:
        self.connection = connection
        self.settings = settings
        self.storage = storage
        self.records = records

    def keep_song(self, job_id: str) -> float:
        """Someone is about to pay for this job's song: restart its retention clock and return
        how many seconds it is now sure to stay stored (a card checkout must expire before).
        Raises :class:`JobNotFoundError` / :class:`InputExpiredError` if it is already gone."""
        record = self.records.require(job_id)
        if not self.storage.exists(record.input_key):
            raise InputExpiredError(record.input_key)
        self.storage.touch(record.input_key)
        return self.settings.retention_s

    def pin(self, job_id: str, order_id: str) -> None:
        """Keep a finished job's results (and its song) until :meth:`mark_delivered`."""
        record = self.records.require(job_id)
        retention.pin(self.connection, stored_keys(record), order_id)

    def mark_delivered(self, job_id: str, keep_s: float = 0.0) -> None:
        """The results reached the person. For a paid job its order's pins go: the results (and
        song) expire a full retention period from now, unless another order still pins them —
        and its results are held ``keep_s`` from now when that is longer. Idempotent."""
        record = self.records.require(job_id)
        now = time.time()
        if record.order_id:
            retention.unpin(self.connection, self.storage, stored_keys(record), record.order_id)
            if keep_s > 0:
                retention.hold(self.connection, record.outputs.values(), now + keep_s)
        self.records.update(job_id, delivered_at=now)

    def release(self, job_id: str) -> None:
        """The paid results will never be delivered (the order was refunded): drop the order's
        pins so normal retention deletes them; the job stays undelivered."""
        release_paid(self.connection, self.storage, self.records.require(job_id))

    def redeliver(self, job_id: str) -> bool:
        """Publish an ended job's final event again if its stream no longer holds it (trimmed
        before a bot read it, or never noted); True if it did."""
        record = self.records.get(job_id)
        if record is None or not record.finished:
            return False
        if record.end_event_id and self.connection.xrange(
            keys.events(record.platform),
            min=record.end_event_id,
            max=record.end_event_id,
            count=1,
        ):
            return False  # still there: a bot has it, or will (and gives up into a refund)
        return lifecycle.republish_end(self.connection, record, self.settings.events_maxlen) is not None

    def fetch_output(self, job_id: str, name: str, dest: str | os.PathLike[str]) -> Path:
        """Copy one result (``vocals``, ``instrumental``, ``waveform``) to a local file."""
        record = self.records.require(job_id)
        if name not in record.outputs:
            raise KeyError(f"job {job_id} has no output {name!r}")
        return self.storage.get_file(record.outputs[name], dest)

    def output_path(self, job_id: str, name: str) -> Path | None:
        """The local path of a result when storage is a local directory (else None)."""
        record = self.records.require(job_id)
        key = record.outputs.get(name)
        return self.storage.local_path(key) if key else None
