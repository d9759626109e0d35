"""The job API the bots and payments call: submit, look up, position, cancel, pay, deliver.

This module never imports torch or the model: it enqueues ``jobs.tasks.process`` by name, so a bot
process stays small. It does decode the upload once (through the engine's ffmpeg decoder) before
enqueueing, because that is what lets it

* refuse a bad file at once, with the engine's friendly reason, instead of after a queue wait;
* answer a song that was already separated (same decoded-audio hash, same model version) from the
  stored results without running a job.

Decoding holds the whole song in memory (about 40 MB for 4 minutes), so at most
``MAX_CONCURRENT_DECODES`` run at a time per process. All methods block; async callers use
``await asyncio.to_thread(queue.submit, ...)``.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import redis
from rq import Callback, Queue, Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQStatus
from rq.rate_limit import RateLimit, RateLimitRegistry

from engine.audio import content_hash, decode
from engine.constants import OUTPUT_FORMATS, SAMPLE_RATE
from jobs import cache, keys, lifecycle, retention, stats
from jobs.errors import BusyError, InputExpiredError, JobError, JobNotFoundError, UserLimitError
from jobs.events import EventType
from jobs.records import JobKind, JobRecord, JobStatus, RecordStore
from jobs.settings import Settings
from jobs.stats import JobStats
from jobs.storage import Storage, open_storage, safe_name
from jobs.timeouts import CALLBACK_TIMEOUT_S, job_timeout, retry_policy

MAX_CONCURRENT_DECODES = 2
TASK = "jobs.tasks.process"
FAILURE_CALLBACK = "jobs.tasks.on_failure"
_PLATFORM_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
_decode_slots = threading.BoundedSemaphore(MAX_CONCURRENT_DECODES)

# Reserve a per-user slot: drop members whose record ended or vanished, then add if under limit.
# KEYS: user-active set, ARGV: limit, job id, record key prefix, force ("1": paid, never refused)
_RESERVE_SCRIPT = """
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    local status = redis.call('HGET', ARGV[3] .. member, 'status')
    if (not status) or status == 'done' or status == 'failed' or status == 'cancelled' then
        redis.call('SREM', KEYS[1], member)
    end
end
if ARGV[4] ~= '1' and redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[1]) then
    return 0
end
redis.call('SADD', KEYS[1], ARGV[2])
return 1
"""


@dataclass
class ForgetReport:
    """What :meth:`JobQueue.forget_user` deleted, and what an open order still keeps."""

    deleted_records: list[str] = field(default_factory=list)
    deleted_files: list[str] = field(default_factory=list)
    kept_pinned: list[str] = field(default_factory=list)  # stored objects an order still pins
    kept_jobs: list[str] = field(default_factory=list)  # paid results not delivered yet


def _check_platform(platform: str) -> str:
    if not platform or not set(platform) <= _PLATFORM_CHARS:
        raise ValueError(f"platform must be lowercase letters/digits, got {platform!r}")
    return platform


class JobQueue:
    """Client of the job pipeline; one per process, safe to share between threads."""

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

    @classmethod
    def from_env(cls) -> JobQueue:
        """A client configured from the environment (REDIS_URL, STORAGE_DIR or S3_*, ...)."""
        return cls(Settings.from_env())

    # ----------------------------------------------------------------- submit

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
    ) -> JobRecord:
        """Accept a song and return its job record.

        ``source`` is a file path or the file's bytes. The returned record is either a queued
        job (watch the events for progress and the result) or, when the same song was already
        separated by the same model, a finished record with ``cached=True`` and ``outputs`` set.
        An unpaid cached answer has no event: deliver it right away. A paid one (``order_id``)
        gets its ``done`` event like any paid job, so delivery has one path.

        Raises :class:`engine.errors.AudioError` (bad file; ``.user_message`` says why),
        :class:`UserLimitError` (too many songs in progress; never for a paid ``order_id``),
        :class:`BusyError` (too many previews waiting, see :meth:`check_capacity`) or
        ``ValueError`` (a programming error: unknown kind, format or platform).
        """
        kind = JobKind(kind)
        platform = _check_platform(platform)
        fmt = self._format(kind, output_format)
        name = safe_name(filename or (Path(source).name if not isinstance(source, bytes) else ""))
        with tempfile.TemporaryDirectory(prefix="vr-submit-") as tmp:
            path = Path(tmp) / name
            if isinstance(source, bytes):
                path.write_bytes(source)
            else:
                path = Path(source)
            with _decode_slots:
                audio = decode(path, max_duration_s=self.settings.max_duration_s)
                duration_s = audio.shape[1] / SAMPLE_RATE
                song_hash = content_hash(audio)
                del audio
            job_id = uuid.uuid4().hex
            record = JobRecord(
                id=job_id,
                user_id=str(user_id),
                platform=platform,
                chat_id=str(chat_id),
                kind=kind,
                output_format=fmt,
                input_key=f"inputs/{job_id}/{name}",
                filename=filename or name,
                duration_s=duration_s,
                content_hash=song_hash,
                order_id=order_id,
            )
            source_job = self._cached_source(kind, fmt, song_hash)
            if source_job is None and kind is JobKind.PREVIEW and not order_id:
                self.check_capacity()  # again: others may have queued while this one decoded
            if source_job is not None:
                # The person's own copy of the song, kept for them for a full retention period
                # (the first uploader's copy may be deleted sooner): they may buy the full song.
                self.storage.put_file(record.input_key, path)
                if order_id:
                    retention.pin(self.connection, [record.input_key], order_id)
                return self._answer_from_cache(record, source_job)
            self._reserve(record)
            try:
                self.storage.put_file(record.input_key, path)
                if order_id:
                    retention.pin(self.connection, [record.input_key], order_id)
                self._enqueue(record)
            except BaseException:
                self._abandon(record)
                raise
        return record

    def check_capacity(self) -> None:
        """Raise :class:`BusyError` if a new preview would wait too long: at least
        ``max_waiting_previews_per_worker`` × live workers (at least one) previews are queued.

        Bots call it before downloading an upload (a refusal then costs one Redis round trip)
        and ``submit`` again before queueing one (uploads decode in parallel); a song answered
        from the cache, and any paid job, needs no worker and is never refused.
        """
        waiting = self.queues[JobKind.PREVIEW].count
        workers = Worker.count(connection=self.connection)
        if waiting >= self.settings.max_waiting_previews_per_worker * max(1, workers):
            raise BusyError(waiting)

    def submit_full(
        self, preview_job_id: str, order_id: str, output_format: str | None = None
    ) -> JobRecord:
        """Start the paid full-song job for a preview's song, or answer it from the cache (a
        finished record whose ``done`` event is already published). Either way the result
        arrives as an event.

        Pins the stored song so retention cannot delete it while the order is open. Raises
        :class:`JobNotFoundError` or :class:`InputExpiredError` (the song is gone:
        :meth:`fail_full` tells the person's bot to refund).
        """
        preview = self.records.get(preview_job_id)
        if preview is None:
            raise JobNotFoundError(preview_job_id)
        if not self.storage.exists(preview.input_key):
            raise InputExpiredError(preview.input_key)
        fmt = self._format(JobKind.FULL, output_format)
        retention.pin(self.connection, [preview.input_key], order_id)
        record = self._full_record(preview, order_id, fmt)
        source_job = self._cached_source(JobKind.FULL, fmt, preview.content_hash)
        if source_job is not None:
            return self._answer_from_cache(record, source_job)
        self._reserve(record)
        try:
            self._enqueue(record)
        except BaseException:
            self._abandon(record, delete_input=False)
            raise
        return record

    def fail_full(
        self, preview_job_id: str, order_id: str, error: JobError, output_format: str | None = None
    ) -> JobRecord:
        """Record the paid full job of a preview as failed at once (``error``: its song is gone)
        and publish its ``failed`` event with ``refund=True``: the person's bot refunds the order
        and tells them why, as for any paid job that fails. Raises :class:`JobNotFoundError` if
        the preview's record is gone too (nobody left to tell)."""
        preview = self._require(preview_job_id)
        record = self._full_record(preview, order_id, self._format(JobKind.FULL, output_format))
        self._create(record)
        lifecycle.finish(
            self.connection, record, JobStatus.FAILED, self.settings.events_maxlen,
            error_code=error.code, error_message=error.user_message,
        )
        self._release_paid_input(record)
        return self.records.get(record.id) or record

    def keep_song(self, job_id: str) -> float:
        """Someone is about to pay for this job's song: restart its retention clock and return
        how many seconds it is now sure to stay stored (a card checkout must expire before).
        Raises :class:`JobNotFoundError` / :class:`InputExpiredError` if it is already gone."""
        record = self._require(job_id)
        if not self.storage.exists(record.input_key):
            raise InputExpiredError(record.input_key)
        self.storage.touch(record.input_key)
        return self.settings.retention_s

    # ----------------------------------------------------------------- look-ups

    def get(self, job_id: str) -> JobRecord | None:
        return self.records.get(job_id)

    def active_jobs(self, platform: str, user_id: str | int) -> list[JobRecord]:
        """The person's jobs that have not ended, oldest first."""
        ids = self.connection.smembers(keys.user_active(platform, str(user_id)))
        found = [self.records.get(i.decode()) for i in ids]
        return sorted(
            (r for r in found if r is not None and not r.finished), key=lambda r: r.created_at
        )

    def position(self, job_id: str) -> int | None:
        """How many jobs are ahead of this one (0: it is next), or None if it is not waiting
        (running, ended, unknown). Previews always go first, so a full job counts every queued
        preview as ahead of it; a job held back by the per-user limit counts everything queued."""
        record = self.records.get(job_id)
        if record is None or record.status not in (JobStatus.QUEUED, JobStatus.RETRYING):
            return None
        try:
            job = Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            return None
        status = job.get_status()
        previews = self.queues[JobKind.PREVIEW].count
        everything = previews + self.queues[JobKind.FULL].count
        if status == RQStatus.QUEUED:
            pos = self.queues[record.kind].get_job_position(job_id)
            if pos is None:
                return 0  # being handed to a worker right now
            return pos + (previews if record.kind is JobKind.FULL else 0)
        if status == RQStatus.RATE_LIMITED and job.rate_limit_key:
            waiting = RateLimitRegistry(job.rate_limit_key, self.connection).get_rate_limited_job_ids()
            return everything + (waiting.index(job_id) if job_id in waiting else 0)
        if status in (RQStatus.SCHEDULED, RQStatus.DEFERRED):
            return everything
        return None

    # ----------------------------------------------------------------- cancel

    def cancel(self, job_id: str, user_id: str | int | None = None) -> bool:
        """Cancel a job that has not ended. A waiting job ends at once; a running one stops at its
        next progress step. Either way a ``cancelled`` event follows (``refund`` if it was paid).
        Returns False if the job is unknown, already ended, or (``user_id`` given) someone
        else's."""
        record = self.records.get(job_id)
        if record is None or record.finished:
            return False
        if user_id is not None and str(user_id) != record.user_id:
            return False
        self.records.update(job_id, cancel_requested=True)
        try:
            job = Job.fetch(job_id, connection=self.connection)
            status = job.get_status()
        except NoSuchJobError:
            job, status = None, None
        if job is not None and status in (
            RQStatus.QUEUED, RQStatus.RATE_LIMITED, RQStatus.SCHEDULED, RQStatus.DEFERRED
        ):
            try:
                job.cancel()
            except InvalidJobOperation:
                pass  # a worker took it in between: the task sees cancel_requested and stops
            else:
                lifecycle.finish(
                    self.connection, record, JobStatus.CANCELLED, self.settings.events_maxlen,
                    error_code="cancelled",
                )
                self._release_paid_input(record)
        elif job is None or status in (RQStatus.CANCELED, RQStatus.STOPPED, RQStatus.FAILED):
            # Nothing will run it any more: end the record here.
            lifecycle.finish(
                self.connection, record, JobStatus.CANCELLED, self.settings.events_maxlen,
                error_code="cancelled",
            )
        return True

    # ----------------------------------------------------------------- payment & delivery

    def pin(self, job_id: str, order_id: str) -> None:
        """Keep a finished job's results (and its song) until :meth:`mark_delivered`: call when a
        result was paid for but not yet handed over."""
        record = self._require(job_id)
        retention.pin(self.connection, self._stored_keys(record), order_id)

    def mark_delivered(self, job_id: str) -> None:
        """The results reached the person. For a paid job its order's pins go: the results (and
        song) expire a full retention period from now, unless another order still pins them.
        Idempotent; bots check ``record.delivered_at`` to avoid sending twice."""
        record = self._require(job_id)
        if record.order_id:
            retention.unpin(
                self.connection, self.storage, self._stored_keys(record), record.order_id
            )
        self.records.update(job_id, delivered_at=time.time())

    def release(self, job_id: str) -> None:
        """The paid results will never be delivered (the order was refunded): drop the order's
        pins so normal retention deletes them. Unlike :meth:`mark_delivered`, the job stays
        undelivered."""
        record = self._require(job_id)
        if record.order_id:
            retention.unpin(
                self.connection, self.storage, self._stored_keys(record), record.order_id
            )

    def forget_user(self, platform: str, user_id: str | int) -> ForgetReport:
        """Delete what the pipeline holds about a person (``/forget``): their job records, RQ's
        jobs for them, and the songs and results stored for their jobs.

        Unfinished jobs are cancelled first (a paid one gets its refund event); a running one
        stops at its next progress step (its record is gone, which the worker reads as a
        cancel). Kept: a paid job whose results were not delivered yet (the order still needs
        it), objects another order pins, and other people's results that answered this
        person's songs from the cache. Events already in the stream age out with it
        (``EVENTS_MAXLEN``)."""
        platform = _check_platform(platform)
        uid = str(user_id)
        index, active = keys.user_jobs(platform, uid), keys.user_active(platform, uid)
        ids = {raw.decode() for raw in self.connection.sunion(index, active)}
        report = ForgetReport()
        for job_id in sorted(ids):
            record = self.records.get(job_id)
            if record is not None and (record.platform, record.user_id) != (platform, uid):
                continue  # never someone else's
            if (
                record is not None
                and record.order_id
                and record.status is JobStatus.DONE
                and record.delivered_at is None
            ):
                report.kept_jobs.append(job_id)  # paid, not delivered yet
                continue
            if record is not None and not record.finished:
                self.cancel(job_id)
            for prefix in (f"inputs/{job_id}/", f"results/{job_id}/"):
                for obj in list(self.storage.list(prefix)):
                    if self.connection.scard(keys.pins(obj.key)):
                        report.kept_pinned.append(obj.key)
                        continue
                    self.storage.delete(obj.key)
                    report.deleted_files.append(obj.key)
            try:
                Job.fetch(job_id, connection=self.connection).delete()
            except NoSuchJobError:
                pass
            if self.connection.delete(keys.record(job_id)):
                report.deleted_records.append(job_id)
            self.connection.srem(index, job_id)
            self.connection.srem(active, job_id)
        return report

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

    def model_version(self) -> str | None:
        """The model version the workers announced (None before any worker has started)."""
        raw = self.connection.get(keys.MODEL_VERSION)
        return raw.decode() if raw else None

    # ----------------------------------------------------------------- internals

    def _format(self, kind: JobKind, output_format: str | None) -> str:
        default = self.settings.preview_format if kind is JobKind.PREVIEW else "mp3"
        fmt = (output_format or default).lower()
        if fmt not in OUTPUT_FORMATS:
            raise ValueError(f"output format must be one of {OUTPUT_FORMATS}, got {fmt!r}")
        return fmt

    def _full_record(self, preview: JobRecord, order_id: str, fmt: str) -> JobRecord:
        """The paid full job of a preview: the preview's stored song, the buyer's format."""
        return JobRecord(
            id=uuid.uuid4().hex,
            user_id=preview.user_id,
            platform=preview.platform,
            chat_id=preview.chat_id,
            kind=JobKind.FULL,
            output_format=fmt,
            input_key=preview.input_key,
            filename=preview.filename,
            duration_s=preview.duration_s,
            content_hash=preview.content_hash,
            order_id=order_id,
            source_job_id=preview.id,
        )

    def _cached_source(self, kind: JobKind, fmt: str, song_hash: str) -> JobRecord | None:
        """The finished job whose stored results answer this song, if there is one."""
        version = self.model_version()
        if not version:
            return None
        source_id = cache.lookup(self.connection, self.settings, kind, fmt, song_hash, version)
        source = self.records.get(source_id) if source_id else None
        if source is None or source.status is not JobStatus.DONE:
            return None
        if not all(self.storage.exists(key) for key in source.outputs.values()):
            return None  # retention got there first: run the job again
        return source

    def _answer_from_cache(self, record: JobRecord, source: JobRecord) -> JobRecord:
        """Finish ``record`` with ``source``'s stored results, no job run.

        A paid answer (``order_id``) also publishes its ``done`` event, in the same transaction
        as the record: the bot delivers it the way it delivers every paid job, so a crash or a
        failed send can't leave it paid and undelivered."""
        for key in source.outputs.values():
            self.storage.touch(key)  # answered again: keep it a full period from now
        now = time.time()
        record.status = JobStatus.DONE
        record.progress = 100
        record.outputs = dict(source.outputs)
        record.preview_start_s = source.preview_start_s
        record.source_job_id = record.source_job_id or source.id
        record.cached = True
        record.model_version = source.model_version
        record.created_at = record.started_at = record.finished_at = now
        if record.order_id:
            retention.pin(self.connection, record.outputs.values(), record.order_id)
        with self.connection.pipeline() as pipe:  # MULTI/EXEC: the record and its event together
            self._create(record, pipe)
            if record.order_id:
                event = lifecycle.event_for(
                    record, EventType.DONE, progress=100, outputs=dict(record.outputs)
                )
                pipe.xadd(
                    keys.events(record.platform), event.to_fields(),
                    maxlen=self.settings.events_maxlen, approximate=True,
                )
            pipe.execute()
        stats.count_cached(self.connection)
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

    def _reserve(self, record: JobRecord) -> None:
        self._create(record)
        script = self.connection.register_script(_RESERVE_SCRIPT)
        ok = script(
            keys=[keys.user_active(record.platform, record.user_id)],
            args=[
                self.settings.max_jobs_per_user,
                record.id,
                keys.record(""),
                "1" if record.order_id else "0",
            ],
        )
        if not ok:
            self.connection.delete(keys.record(record.id))
            self.connection.srem(keys.user_jobs(record.platform, record.user_id), record.id)
            raise UserLimitError(self.settings.max_jobs_per_user)

    def _abandon(self, record: JobRecord, delete_input: bool = True) -> None:
        """Undo a submission that failed before it was enqueued."""
        self.connection.srem(keys.user_active(record.platform, record.user_id), record.id)
        self.connection.srem(keys.user_jobs(record.platform, record.user_id), record.id)
        self.connection.delete(keys.record(record.id))
        if delete_input:
            self.storage.delete(record.input_key)

    def _enqueue(self, record: JobRecord) -> Job:
        queue = self.queues[record.kind]
        return queue.enqueue_call(
            TASK,
            args=(record.id,),
            job_id=record.id,
            timeout=job_timeout(self.settings, record.duration_s, record.kind),
            result_ttl=int(self.settings.retention_s),
            failure_ttl=int(self.settings.record_ttl_s),
            description=f"{record.kind} {record.platform}:{record.user_id} {record.filename}",
            meta={"progress": 0, "platform": record.platform, "user_id": record.user_id},
            retry=retry_policy(self.settings),
            on_failure=Callback(FAILURE_CALLBACK, timeout=CALLBACK_TIMEOUT_S),
            rate_limit=RateLimit(
                keys.user_rate_limit(record.platform, record.user_id),
                self.settings.user_concurrency,
            ),
        )

    def _require(self, job_id: str) -> JobRecord:
        record = self.records.get(job_id)
        if record is None:
            raise JobNotFoundError(job_id)
        return record

    @staticmethod
    def _stored_keys(record: JobRecord) -> Iterable[str]:
        return [record.input_key, *record.outputs.values()]

    def _release_paid_input(self, record: JobRecord) -> None:
        if record.order_id:
            retention.unpin(self.connection, self.storage, [record.input_key], record.order_id)
