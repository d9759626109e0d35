"""The job API the bots and payments call: submit, look up, position, cancel, pay, deliver.

:class:`JobQueue` is the one client, a thin façade over small parts built on one Redis
connection, one storage and one record store — as RQ builds its registries on a queue
(``StartedJobRegistry(queue=q)``). Each part is one concern, one module, and can be built and
tested alone:

================================  ==============================================================
``records`` (:class:`~jobs.records.RecordStore`)       job records; every one listed under its person
``delivery`` (:class:`~jobs.delivery.Delivery`)        pins on paid results, delivery, results
``line`` (:class:`~jobs.line.Line`)                    the per-user slot, enqueueing, place, cancel
``capacity`` (:class:`~jobs.capacity.Capacity`)        admission of free previews and renders by expected wait
``answers`` (:class:`~jobs.cache.CacheAnswers`)        same-song answers from stored results
``submitter`` (:class:`~jobs.submit.Submitter`)        songs in: previews, paid full jobs
``karaoke`` (:class:`~jobs.karaoke_jobs.KaraokeRenders`)  free karaoke renders of previews
================================  ==============================================================

The day's figures are :func:`jobs.stats.read`; forgetting a person is
:func:`jobs.forget.forget_user`. Nothing here imports torch or the model. All methods block;
async callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import redis
from rq import Queue

from engine.karaoke import KaraokeSettings
from jobs import keys, stats, wait_updates
from jobs.cache import CacheAnswers
from jobs.capacity import Capacity
from jobs.delivery import Delivery
from jobs.errors import JobError
from jobs.karaoke_jobs import KaraokeRenders
from jobs.line import Line
from jobs.records import JobKind, JobRecord, JobStatus, RecordStore
from jobs.settings import Settings
from jobs.stats import JobStats
from jobs.storage import Storage, open_storage
from jobs.submit import Submitter
from jobs.wait import HANDOVER_S, WaitEstimate


@dataclass(frozen=True)
class JobWait:
    """Where a waiting preview is: ``place`` in line (1: next) and ``seconds`` until it should be
    ready (:func:`jobs.wait.expected_wait`)."""

    place: int
    seconds: float


class JobQueue:
    """Client of the job pipeline; one per process, safe to share between threads.

    Invariant: every part shares this object's ``connection``, ``storage``, ``records`` and
    ``settings``, so what one part writes the others read at once, and settings replaced on a
    live client (``queue.settings = queue.settings.with_overrides(...)``) reach every part; the
    public methods only delegate.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        connection: redis.Redis | None = None,
        storage: Storage | None = None,
    ) -> None:
        self._settings = settings or Settings.from_env()
        self.connection = connection or redis.Redis.from_url(self._settings.redis_url)
        self.storage = storage or open_storage(self._settings)
        self.records = RecordStore(self.connection, self._settings.record_ttl_s)
        self.queues = {
            JobKind.PREVIEW: Queue(keys.PREVIEW_QUEUE, connection=self.connection),
            JobKind.FULL: Queue(keys.FULL_QUEUE, connection=self.connection),
        }
        # Karaoke preview clips: no job kind of their own (no record), after the full queue.
        self.karaoke_queue = Queue(keys.KARAOKE_QUEUE, connection=self.connection)
        shared = (self.connection, self.settings)
        self.delivery = Delivery(*shared, self.storage, self.records)
        self.line = Line(*shared, self.storage, self.records, self.queues, self.delivery)
        self.capacity = Capacity(*shared, self.queues[JobKind.PREVIEW], self.karaoke_queue)
        self.answers = CacheAnswers(*shared, self.storage, self.records)
        self.submitter = Submitter(
            *shared,
            self.storage,
            self.records,
            answers=self.answers,
            line=self.line,
            capacity=self.capacity,
            delivery=self.delivery,
        )
        self.karaoke = KaraokeRenders(*shared, self.karaoke_queue, self.records, self.capacity)

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        """New settings for this client and every part of it (the connection, storage and
        record store stay as built)."""
        self._settings = settings
        for part in (self.delivery, self.line, self.capacity, self.answers, self.submitter, self.karaoke):
            part.settings = settings

    @classmethod
    def from_env(cls) -> JobQueue:
        """A client configured from the environment (REDIS_URL, STORAGE_DIR or S3_*, ...)."""
        return cls(Settings.from_env())

    # ------------------------------------------------------------------ records
    def get(self, job_id: str) -> JobRecord | None:
        return self.records.get(job_id)

    def model_version(self) -> str | None:
        """The model version the workers announced (None before any worker has started)."""
        return self.answers.model_version()

    # ------------------------------------------------------------------ songs in
    def submit(
        self,
        user_id: str | int,
        platform: str,
        chat_id: str | int,
        source: str | os.PathLike[str] | bytes,
        *,
        kind: JobKind | str = JobKind.PREVIEW,
        output_format: str | None = None,
        filename: str | None = None,
        order_id: str | None = None,
        language: str = "",
    ) -> JobRecord:
        """Accept a song and return its job record (:meth:`jobs.submit.Submitter.submit`)."""
        return self.submitter.submit(
            user_id,
            platform,
            chat_id,
            source,
            kind=kind,
            output_format=output_format,
            filename=filename,
            order_id=order_id,
            language=language,
        )

    def submit_full(
        self,
        preview_job_id: str,
        order_id: str,
        output_format: str | None = None,
        karaoke: str | None = None,
    ) -> JobRecord:
        """Start (or answer from the cache) the paid full job of a preview's song
        (:meth:`jobs.submit.Submitter.submit_full`)."""
        return self.submitter.submit_full(preview_job_id, order_id, output_format, karaoke)

    def fail_full(
        self, preview_job_id: str, order_id: str, error: JobError, output_format: str | None = None
    ) -> JobRecord:
        """Record a preview's paid full job as failed at once, with its refund event
        (:meth:`jobs.submit.Submitter.fail_full`)."""
        return self.submitter.fail_full(preview_job_id, order_id, error, output_format)

    def check_capacity(self) -> WaitEstimate:
        """Raise :class:`BusyError` if a new preview would wait longer than
        ``MAX_PREVIEW_WAIT_S``, else return its expected wait
        (:meth:`jobs.capacity.Capacity.check_previews`)."""
        return self.capacity.check_previews()

    def expected_wait(self) -> WaitEstimate:
        """The expected wait of a preview sent now and its inputs (:func:`jobs.wait.current`):
        what admission decides by, and what a metrics collector exports."""
        return self.capacity.estimate()

    def wait(self, job_id: str) -> JobWait | None:
        """A preview's place in line (1: next) and seconds until it should be ready — for one a
        worker has just taken, place 1 and one preview's time; None once it has ended, or for a
        job that is not a preview."""
        record = self.records.get(job_id)
        if record is None or record.kind is not JobKind.PREVIEW or record.finished:
            return None
        estimate = self.capacity.estimate()
        ahead = self.line.position(job_id)
        if ahead is None:
            running = record.status is JobStatus.RUNNING
            return JobWait(1, estimate.preview_s + HANDOVER_S) if running else None
        return JobWait(ahead + 1, estimate.behind(ahead))

    def announce_waits(self, platform: str) -> int:
        """Tell the waiting previews of ``platform`` whose turn has come their place and wait
        again (:func:`jobs.wait_updates.announce_due`); a bot runs it in a loop."""
        return wait_updates.announce_due(
            self.connection, self.settings, self.records, self.queues[JobKind.PREVIEW], platform
        )

    def check_render_capacity(self) -> None:
        """The same back-pressure for a karaoke preview render
        (:meth:`jobs.capacity.Capacity.check_renders`)."""
        self.capacity.check_renders()

    # ------------------------------------------------------------------ the line
    def active_jobs(self, platform: str, user_id: str | int) -> list[JobRecord]:
        """The person's jobs that have not ended, oldest first."""
        return self.line.active_jobs(platform, user_id)

    def position(self, job_id: str) -> int | None:
        """How many jobs are ahead of this one (:meth:`jobs.line.Line.position`)."""
        return self.line.position(job_id)

    def cancel(self, job_id: str, user_id: str | int | None = None) -> bool:
        """Cancel a job that has not ended (:meth:`jobs.line.Line.cancel`)."""
        return self.line.cancel(job_id, user_id)

    # ------------------------------------------------------------------ after a job
    def keep_song(self, job_id: str) -> float:
        """About to be paid for: seconds the song now stays stored
        (:meth:`jobs.delivery.Delivery.keep_song`)."""
        return self.delivery.keep_song(job_id)

    def pin(self, job_id: str, order_id: str) -> None:
        """Keep a finished job's results (and its song) until :meth:`mark_delivered`: call when a
        result was paid for but not yet handed over."""
        self.delivery.pin(job_id, order_id)

    def mark_delivered(self, job_id: str, keep_s: float = 0.0) -> None:
        """The results reached the person (:meth:`jobs.delivery.Delivery.mark_delivered`);
        bots check ``record.delivered_at`` to avoid sending twice."""
        self.delivery.mark_delivered(job_id, keep_s)

    def redeliver(self, job_id: str) -> bool:
        """Publish an ended job's final event again if its stream no longer holds it; payments'
        recovery asks this for every paid order whose job has ended (``web.jobs_bridge``)."""
        return self.delivery.redeliver(job_id)

    def release(self, job_id: str) -> None:
        """The paid results will never be delivered (the order was refunded): drop the order's
        pins (:meth:`jobs.delivery.Delivery.release`)."""
        self.delivery.release(job_id)

    def fetch_output(self, job_id: str, name: str, dest: str | os.PathLike[str]) -> Path:
        """Copy one result (``vocals``, ``instrumental``, ``waveform``) to a local file."""
        return self.delivery.fetch_output(job_id, name, dest)

    def output_path(self, job_id: str, name: str) -> Path | None:
        """The local path of a result when storage is a local directory (else None)."""
        return self.delivery.output_path(job_id, name)

    # ------------------------------------------------------------------ karaoke and figures
    def render_karaoke(self, job_id: str, settings: KaraokeSettings) -> bool:
        """Render a finished preview's clip in new karaoke settings on a worker
        (:meth:`jobs.karaoke_jobs.KaraokeRenders.render`)."""
        return self.karaoke.render(job_id, settings)

    def stats(self, day: str | None = None) -> JobStats:
        """Jobs ended and served from the cache on a UTC day (default today), jobs waiting and
        running now, and the mean wait for a preview (see :mod:`jobs.stats`)."""
        return stats.read(self.connection, self.queues, day)
