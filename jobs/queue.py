"""The job API the bots and payments call: submit, look up, position, cancel, pay, deliver.

:class:`JobQueue` is the one client; its concerns live one per module and a reader can take them
one at a time — :mod:`jobs.base` (connections, records), :mod:`jobs.line` (the per-user slot,
place in line, cancel), :mod:`jobs.submit` (accepting a song, the cache answer, the paid full job)
and, here, what happens after a job ended: pins for paid results, delivery, fetching results and
the day's figures. Forgetting a person is :func:`jobs.forget.forget_user`. Nothing here imports
torch or the model. All methods block; async callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine.karaoke import KaraokeSettings
from jobs import karaoke_jobs, keys, lifecycle, retention, stats
from jobs.errors import JobNotFoundError
from jobs.records import JobKind, JobStatus
from jobs.settings import Settings
from jobs.stats import JobStats
from jobs.submit import Submitting


class JobQueue(Submitting):
    """Client of the job pipeline; one per process, safe to share between threads."""

    @classmethod
    def from_env(cls) -> JobQueue:
        """A client configured from the environment (REDIS_URL, STORAGE_DIR or S3_*, ...)."""
        return cls(Settings.from_env())

    def pin(self, job_id: str, order_id: str) -> None:
        """Keep a finished job's results (and its song) until :meth:`mark_delivered`: call when a
        result was paid for but not yet handed over."""
        record = self._require(job_id)
        retention.pin(self.connection, self._stored_keys(record), order_id)

    def mark_delivered(self, job_id: str, keep_s: float = 0.0) -> None:
        """The results reached the person. For a paid job its order's pins go: the results (and
        song) expire a full retention period from now, unless another order still pins them —
        and its results are held ``keep_s`` from now (the lifetime of the download links and
        results page the person was given, ``DOWNLOAD_TTL_S``), when that is longer.
        Idempotent; bots check ``record.delivered_at`` to avoid sending twice."""
        record = self._require(job_id)
        now = time.time()
        if record.order_id:
            retention.unpin(
                self.connection, self.storage, self._stored_keys(record), record.order_id
            )
            if keep_s > 0:
                retention.hold(self.connection, record.outputs.values(), now + keep_s)
        self.records.update(job_id, delivered_at=now)

    def redeliver(self, job_id: str) -> bool:
        """Publish an ended job's final event again if its stream no longer holds it (trimmed
        before a bot read it, or never noted); True if it did. A paid order whose job ended must
        still be delivered or refunded, whatever the stream kept: payments' recovery asks this
        for every paid order whose job has ended (``web.jobs_bridge``)."""
        record = self.records.get(job_id)
        if record is None or not record.finished:
            return False
        if record.end_event_id and self.connection.xrange(
            keys.events(record.platform), min=record.end_event_id, max=record.end_event_id,
            count=1,
        ):
            return False  # still there: a bot has it, or will (and gives up into a refund)
        return lifecycle.republish_end(self.connection, record, self.settings.events_maxlen) is not None

    def release(self, job_id: str) -> None:
        """The paid results will never be delivered (the order was refunded): drop the order's
        pins so normal retention deletes them. Unlike :meth:`mark_delivered`, the job stays
        undelivered."""
        record = self._require(job_id)
        if record.order_id:
            retention.unpin(
                self.connection, self.storage, self._stored_keys(record), record.order_id
            )

    def render_karaoke(self, job_id: str, settings: KaraokeSettings) -> bool:
        """Render a finished preview's clip as the karaoke variant ``settings`` on a worker; the
        result comes as a ``kind="karaoke"`` event (see :mod:`jobs.karaoke_jobs`). False if the
        same render is already in line (its event answers this ask too).

        Renders are free and cost a worker seconds each, so they are bounded like previews and
        never delay a paid song: they wait on their own queue, after the full one; one person
        has one in line at a time (:class:`KaraokeInFlightError`) and
        ``karaoke_renders_per_day`` a UTC day (:class:`KaraokeQuotaError`); while the workers
        are busy they are refused as a preview is (:class:`BusyError`). Raises
        :class:`JobNotFoundError` when the preview is not a finished one (gone, or not done)."""
        record = self._require(job_id)
        if record.kind is not JobKind.PREVIEW or record.status is not JobStatus.DONE:
            raise JobNotFoundError(job_id)
        if karaoke_jobs.pending(self.connection, record, settings):
            return False
        self.check_render_capacity()
        return karaoke_jobs.enqueue(
            self.connection, self.karaoke_queue, self.settings, record, settings
        )

    def fetch_output(self, job_id: str, name: str, dest: str | os.PathLike[str]) -> Path:
        """Copy one result (``vocals``, ``instrumental``, ``waveform``) to a local file."""
        record = self._require(job_id)
        if name not in record.outputs:
            raise KeyError(f"job {job_id} has no output {name!r}")
        return self.storage.get_file(record.outputs[name], dest)

    def output_path(self, job_id: str, name: str) -> Path | None:
        """The local path of a result when storage is a local directory (else None)."""
        record = self._require(job_id)
        key = record.outputs.get(name)
        return self.storage.local_path(key) if key else None

    def stats(self, day: str | None = None) -> JobStats:
        """Jobs ended and served from the cache on a UTC day (default today), jobs waiting and
        running now, and the mean wait for a preview (see :mod:`jobs.stats`)."""
        return stats.read(self.connection, self.queues, day)
