"""Accepting a song: validate and hash it, answer it from the cache, or put it in line.

This module never imports torch or the model: it enqueues ``jobs.tasks.process`` by name, so a bot
process stays small. It does decode the upload once (through the engine's ffmpeg decoder) before
enqueueing, because that is what lets it

* refuse a bad file at once, with the engine's friendly reason, instead of after a queue wait;
* answer a song that was already separated (same decoded-audio hash, same model version) from the
  stored results without running a job.

Decoding holds the whole song in memory (about 40 MB for 4 minutes), so at most
``MAX_CONCURRENT_DECODES`` run at a time per process (callers size their audio threads by it).
All methods block; async callers use ``await asyncio.to_thread(queue.submit, ...)``.

:class:`Submitter` is the part of :class:`jobs.queue.JobQueue` that takes songs in, built on the
parts it hands them to: the cache (:class:`jobs.cache.CacheAnswers`), the line
(:class:`jobs.line.Line`), the admission by expected wait (:class:`jobs.capacity.Capacity`),
the status updates of a waiting preview (:mod:`jobs.wait_updates`) and the pins
(:class:`jobs.delivery.Delivery`). Invariant: a song is decoded before anything is stored, so a
bad file leaves nothing behind; a submission that fails after its record was written is undone
(record, slot and stored song), and a paid one's song is pinned to its order before its job
can run.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from pathlib import Path

import redis

from engine.audio import content_hash, decode
from engine.constants import SAMPLE_RATE
from engine.karaoke import IDENTITY, KaraokeSettings
from jobs import retention, wait_updates
from jobs.cache import CacheAnswers
from jobs.capacity import Capacity
from jobs.delivery import Delivery, end_without_results
from jobs.errors import InputExpiredError, JobError, JobNotFoundError
from jobs.keys import check_platform
from jobs.line import Line
from jobs.records import KARAOKE_OUTPUT, JobKind, JobRecord, JobStatus, RecordStore
from jobs.settings import Settings
from jobs.storage import Storage, safe_name, stored_name
from service.limits import DEFAULT_OUTPUT_FORMAT, OUTPUT_FORMATS

MAX_CONCURRENT_DECODES = 2
_decode_slots = threading.BoundedSemaphore(MAX_CONCURRENT_DECODES)


class Submitter:
    """Songs in: previews, the paid full job of a preview, and answers from the cache."""

    def __init__(
        self,
        connection: redis.Redis,
        settings: Settings,
        storage: Storage,
        records: RecordStore,
        *,
        answers: CacheAnswers,
        line: Line,
        capacity: Capacity,
        delivery: Delivery,
    ) -> None:
        self.connection = connection
        self.settings = settings
        self.storage = storage
        self.records = records
        self.answers = answers
        self.line = line
        self.capacity = capacity
        self.delivery = delivery

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
        """Accept a song and return its job record (``language``: what its answers are said in,
        carried by every job made from it).

        ``source`` is a file path or the file's bytes. The returned record is either a queued
        job (watch the events for progress and the result) or, when the same song was already
        separated by the same model, a finished record with ``cached=True`` and ``outputs`` set.
        An unpaid cached answer has no event: deliver it right away. A paid one (``order_id``)
        gets its ``done`` event like any paid job, so delivery has one path.

        Raises :class:`engine.errors.AudioError` (bad file; its ``code`` says why),
        :class:`UserLimitError` (too many songs in progress; never for a paid ``order_id``),
        :class:`BusyError` (a free preview would wait longer than ``MAX_PREVIEW_WAIT_S``,
        :class:`jobs.capacity.Capacity`) or
        ``ValueError`` (a programming error: unknown kind, format or platform).
        """
        kind = JobKind(kind)
        platform = check_platform(platform)
        fmt = self._format(kind, output_format)
        name = safe_name(filename or (Path(source).name if not isinstance(source, bytes) else ""))
        stored = stored_name(name)  # keys and paths never hold the person's file name
        with tempfile.TemporaryDirectory(prefix="vr-submit-") as tmp:
            path = Path(tmp) / stored
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
                input_key=f"inputs/{job_id}/{stored}",
                filename=filename or name,
                duration_s=duration_s,
                content_hash=song_hash,
                order_id=order_id,
                language=language,
            )
            source_job = self.answers.source(kind, fmt, song_hash)
            if source_job is not None:
                # The person's own copy of the song, kept for them for a full retention period
                # (the first uploader's copy may be deleted sooner): they may buy the full song.
                self.storage.put_file(record.input_key, path)
                if order_id:
                    retention.pin(self.connection, [record.input_key], order_id)
                return self.answers.answer(record, source_job)
            free = kind is JobKind.PREVIEW and not order_id
            if free:  # decided now, atomically: others may have queued while this one decoded
                self.capacity.admit_preview(record.id)
            try:
                self.line.reserve(record)
                try:
                    self.storage.put_file(record.input_key, path)
                    if order_id:
                        retention.pin(self.connection, [record.input_key], order_id)
                    self.line.enqueue(record)
                except BaseException:
                    self.line.abandon(record)
                    raise
            finally:
                if free:  # in RQ's queue now (or never): the queue counts it from here
                    self.capacity.release(record.id)
            if free:
                wait_updates.watch(self.connection, self.settings, record)
        return record

    def submit_full(
        self,
        preview_job_id: str,
        order_id: str,
        output_format: str | None = None,
        karaoke: str | None = None,
    ) -> JobRecord:
        """Start the paid full-song job for a preview's song, or answer it from the cache (a
        finished record whose ``done`` event is already published). Either way the result
        arrives as an event.

        ``karaoke`` (a ``KaraokeSettings`` compact form; None or identity: none) adds the karaoke
        variant, rendered from the stems after separation, as output ``"karaoke"``; a song
        separated before then costs only that render. Raises ``KaraokeSettingsError`` for a bad
        form. Pins the stored song so retention cannot delete it while the order is open. Raises
        :class:`JobNotFoundError` or :class:`InputExpiredError` (the song is gone:
        :meth:`fail_full` tells the person's bot to refund).
        """
        preview = self.records.get(preview_job_id)
        if preview is None:
            raise JobNotFoundError(preview_job_id)
        if not self.storage.exists(preview.input_key):
            raise InputExpiredError(preview.input_key)
        fmt = self._format(JobKind.FULL, output_format)
        variant = KaraokeSettings.parse(karaoke) if karaoke else IDENTITY
        retention.pin(self.connection, [preview.input_key], order_id)
        record = self._full_record(preview, order_id, fmt)
        if not variant.is_identity:
            record.karaoke = variant.to_string()
        source_job = self.answers.source(JobKind.FULL, fmt, preview.content_hash)
        if source_job is not None and variant.is_identity:
            return self.answers.answer(record, source_job)
        if source_job is not None:
            # Separated before: the worker only renders the variant from the stored stems.
            record.outputs = {k: v for k, v in source_job.outputs.items() if k != KARAOKE_OUTPUT}
            record.analysis = source_job.analysis
            record.source_job_id = source_job.id
            record.cached = True
            retention.pin(self.connection, record.outputs.values(), order_id)
        self.line.reserve(record)
        try:
            self.line.enqueue(record)
        except BaseException:
            self.line.abandon(record, delete_input=False)
            raise
        return record

    def fail_full(
        self, preview_job_id: str, order_id: str, error: JobError, output_format: str | None = None
    ) -> JobRecord:
        """Record the paid full job of a preview as failed at once (``error``: its song is gone)
        and publish its ``failed`` event with ``refund=True``: the person's bot refunds the order
        and tells them why, as for any paid job that fails. Raises :class:`JobNotFoundError` if
        the preview's record is gone too (nobody left to tell)."""
        preview = self.records.require(preview_job_id)
        record = self._full_record(preview, order_id, self._format(JobKind.FULL, output_format))
        self.records.register(record)
        end_without_results(
            self.connection,
            self.storage,
            record,
            JobStatus.FAILED,
            self.settings.events_maxlen,
            error_code=error.code,
            error_params=error.params,
        )
        return self.records.get(record.id) or record

    def _format(self, kind: JobKind, output_format: str | None) -> str:
        default = self.settings.preview_format if kind is JobKind.PREVIEW else DEFAULT_OUTPUT_FORMAT
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
            language=preview.language,
        )
