"""Same-song cache: a song separated once is answered from its stored results afterwards.

The key is the decoded-audio hash (``engine.audio.content_hash``: the same song in another
container or under another name hashes the same), the model version (a retrained model must not
serve old stems), the kind (preview length included) and the output format. The value is the id
of the finished job whose results answer it. Entries live as long as the results do (the
retention period); a lookup also checks the files still exist.

:class:`CacheAnswers` is the part of :class:`jobs.queue.JobQueue` that finds such a job and
answers a new record with its results. Invariant: an answer is only given from a finished job
whose every stored result still exists, made by the model version the workers announce now; a
paid answer's record and its ``done`` event are written in one transaction, so it is delivered
the way every paid job is.
"""

from __future__ import annotations

import time

import redis

from jobs import keys, lifecycle, replies, retention, stats
from jobs.events import EventType
from jobs.records import JobKind, JobRecord, JobStatus, RecordStore
from jobs.settings import Settings
from jobs.storage import Storage
from metrics import families


def cache_key(settings: Settings, kind: JobKind, fmt: str, song_hash: str, version: str) -> str:
    tag = f"preview{int(settings.preview_length_s)}" if kind is JobKind.PREVIEW else "full"
    return keys.cache(version, tag, fmt, song_hash)


def entry_for(settings: Settings, record: JobRecord) -> tuple[str, int]:
    """The cache key that will point at ``record``'s results once it is done, and how long it
    lives (seconds): :func:`jobs.lifecycle.finish` sets it with the job's end, atomically, so
    a job seen done is already remembered."""
    key = cache_key(settings, record.kind, record.output_format, record.content_hash, record.model_version)
    return key, max(1, int(settings.retention_s))


def lookup(
    connection: redis.Redis,
    settings: Settings,
    kind: JobKind,
    fmt: str,
    song_hash: str,
    version: str,
) -> str | None:
    """The id of a finished job with this song's results, if one is remembered."""
    raw = connection.get(cache_key(settings, kind, fmt, song_hash, version))
    return replies.text(raw) if raw else None


class CacheAnswers:
    """Songs separated before, answered from their stored results without running a job."""

    def __init__(
        self, connection: redis.Redis, settings: Settings, storage: Storage, records: RecordStore
    ) -> None:
        self.connection = connection
        self.settings = settings
        self.storage = storage
        self.records = records

    def model_version(self) -> str | None:
        """The model version the workers announced (None before any worker has started)."""
        raw = self.connection.get(keys.MODEL_VERSION)
        return replies.text(raw) if raw else None

    def source(self, kind: JobKind, fmt: str, song_hash: str) -> JobRecord | None:
        """The finished job whose stored results answer this song, if there is one."""
        version = self.model_version()
        if not version:
            return None
        source_id = lookup(self.connection, self.settings, kind, fmt, song_hash, version)
        source = self.records.get(source_id) if source_id else None
        if source is None or source.status is not JobStatus.DONE:
            return None
        if not all(self.storage.exists(key) for key in source.outputs.values()):
            return None  # retention got there first: run the job again
        return source

    def answer(self, record: JobRecord, source: JobRecord) -> JobRecord:
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
        record.analysis = source.analysis  # its key and tempo, if analysed by now
        record.preview_start_s = source.preview_start_s
        record.source_job_id = record.source_job_id or source.id
        record.cached = True
        record.model_version = source.model_version
        record.created_at = record.started_at = record.finished_at = now
        if record.order_id:
            retention.pin(self.connection, record.outputs.values(), record.order_id)
        with self.connection.pipeline() as pipe:  # MULTI/EXEC: the record and its event together
            self.records.register(record, pipe)
            if record.order_id:
                event = lifecycle.event_for(
                    record, EventType.DONE, progress=100, outputs=dict(record.outputs)
                )
                pipe.xadd(
                    keys.events(record.platform),
                    replies.fields(event.to_fields()),
                    maxlen=self.settings.events_maxlen,
                    approximate=True,
                )
            written = pipe.execute()
        if record.order_id:
            entry = written[-1]
            record.end_event_id = entry.decode() if isinstance(entry, bytes) else str(entry)
            self.records.update(record.id, end_event_id=record.end_event_id)
        stats.count_cached(self.connection)
        families.CACHE_HITS.labels(families.bounded(record.kind, families.JOB_KINDS)).inc()
        return record
