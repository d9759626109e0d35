"""The job record: what the bots and payments read about a job, stored as a Redis hash.

RQ's own job hash holds the pickled call and RQ's bookkeeping; our record holds the product's view
(who asked, which song, how far, why it failed, where the results are) in plain fields any process
can read without importing the task code. Updates are per-field (``HSET``) so the worker writing
progress and the API writing a cancel request never overwrite each other.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

import redis

from jobs import keys, replies
from jobs.errors import JobNotFoundError


class JobKind(StrEnum):
    PREVIEW = "preview"  # a free 30 s excerpt of both stems and a waveform picture
    FULL = "full"  # the whole song, both stems (paid)


KARAOKE_OUTPUT = "karaoke"  # a full job's karaoke version, beside "vocals" and "instrumental"


class JobStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker (see JobQueue.position for how many are ahead)
    RUNNING = "running"
    RETRYING = "retrying"  # a transient error; scheduled to run again
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED_STATUSES


FINISHED_STATUSES = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass
class JobRecord:
    """One job as the rest of the service sees it. Ids are strings on every platform."""

    id: str
    user_id: str
    platform: str
    chat_id: str
    kind: JobKind
    output_format: str
    input_key: str
    filename: str = ""
    duration_s: float = 0.0
    content_hash: str = ""
    status: JobStatus = JobStatus.QUEUED
    progress: int = 0  # percent, 0..100
    # Why the job failed or was cancelled: a ``service.errors.ErrorCode`` and its parameters
    # (JSON), worded by the text catalogue (``texts.error_text``).
    error_code: str = ""
    error_params: dict[str, Any] = field(default_factory=dict)
    # What records written before the catalogue said instead (their only words): read, as the
    # fallback when ``error_code`` has no words, and never written any more.
    error_message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)  # "vocals"/"instrumental"/"waveform"
    preview_start_s: float | None = None
    order_id: str | None = None
    source_job_id: str | None = None  # the preview a full job upgrades, or the cached job
    # A full job's karaoke variant (``KaraokeSettings`` compact form, "" for none), rendered from
    # its stems after separation and stored as output "karaoke" (see jobs/karaoke_variants.py).
    karaoke: str = ""
    # Key and tempo (``engine.analysis.Analysis`` JSON without the beat grid; "" until the
    # analysis that follows the job's DONE has finished, or when it failed): jobs/analysis.py.
    analysis: str = ""
    # The language the person is answered in (a ``texts.languages`` code, "" for English), fixed
    # when the song came in: the preview, the paid stems and any refund notice arrive in it.
    language: str = ""
    cached: bool = False
    model_version: str = ""
    attempts: int = 0
    worker: str = ""
    worker_pid: int = 0
    cancel_requested: bool = False
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    delivered_at: float | None = None
    # The stream entry of the job's final event (done / failed / cancelled), so a reconciliation
    # can tell whether the stream still holds it (``JobQueue.redeliver``); "" when unknown.
    end_event_id: str = ""

    def to_mapping(self) -> dict[str, str]:
        """Flatten to Redis hash fields (strings; ``""`` for None)."""
        return {name: encode_field(value) for name, value in asdict(self).items()}

    @classmethod
    def from_mapping(cls, raw: dict[bytes | str, bytes | str]) -> JobRecord:
        data = {_text(k): _text(v) for k, v in raw.items()}
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in data:
                values[f.name] = _decode(f.name, data[f.name])
        return cls(**values)

    @property
    def finished(self) -> bool:
        return JobStatus(self.status).finished

    def own_outputs(self) -> dict[str, str]:
        """The outputs that are this job's to hand out. A job answered from another's stored
        results copies all of that one's outputs, its karaoke version included, but only the
        version its own order chose (:attr:`karaoke`) belongs to it."""
        if self.karaoke:
            return dict(self.outputs)
        return {name: key for name, key in self.outputs.items() if name != KARAOKE_OUTPUT}


_FLOATS = {"duration_s", "created_at", "started_at", "finished_at", "delivered_at", "preview_start_s"}
_INTS = {"progress", "attempts", "worker_pid"}
_BOOLS = {"cached", "cancel_requested"}
_OPTIONAL = {"started_at", "finished_at", "delivered_at", "preview_start_s", "order_id", "source_job_id"}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def encode_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _decode(name: str, raw: str) -> Any:
    if name in _OPTIONAL and raw == "":
        return None
    if name in _FLOATS:
        return float(raw)
    if name in _INTS:
        return int(float(raw))
    if name in _BOOLS:
        return raw == "1"
    if name in ("outputs", "error_params"):
        return json.loads(raw) if raw else {}
    if name == "kind":
        return JobKind(raw)
    if name == "status":
        return JobStatus(raw)
    return raw


class RecordStore:
    """Reads and writes job records; every write refreshes the record's time to live.

    Invariant: a record a person's job gets is written by :meth:`register`, which also lists it
    under its person (``user_jobs``, what ``/forget`` reads), so no record of theirs is missed.
    """

    def __init__(self, connection: redis.Redis, ttl_s: float) -> None:
        self.connection = connection
        self.ttl_s = int(ttl_s)

    def register(self, record: JobRecord, pipeline: redis.client.Pipeline | None = None) -> None:
        """Store a new record and list it under its person (what /forget deletes)."""
        pipe = pipeline if pipeline is not None else self.connection.pipeline()
        self.create(record, pipe)
        index = keys.user_jobs(record.platform, record.user_id)
        pipe.sadd(index, record.id)
        pipe.expire(index, self.ttl_s)
        if pipeline is None:
            pipe.execute()

    def unregister(self, record: JobRecord) -> None:
        """Undo :meth:`register` for a record that never got in line."""
        self.connection.delete(keys.record(record.id))
        self.connection.srem(keys.user_jobs(record.platform, record.user_id), record.id)

    def require(self, job_id: str) -> JobRecord:
        """The record, or :class:`jobs.errors.JobNotFoundError`."""
        record = self.get(job_id)
        if record is None:
            raise JobNotFoundError(job_id)
        return record

    def create(self, record: JobRecord, pipeline: redis.client.Pipeline | None = None) -> None:
        pipe = pipeline if pipeline is not None else self.connection.pipeline()
        pipe.hset(keys.record(record.id), mapping=replies.fields(record.to_mapping()))
        pipe.expire(keys.record(record.id), self.ttl_s)
        if pipeline is None:
            pipe.execute()

    def get(self, job_id: str) -> JobRecord | None:
        raw = self.connection.hgetall(keys.record(job_id))
        # A record deleted (/forget) while a worker still wrote a field to it is only a stub.
        if not raw or (b"id" not in raw and "id" not in raw):
            return None
        return JobRecord.from_mapping(raw)

    def update(self, job_id: str, pipeline: redis.client.Pipeline | None = None, **changes: Any) -> None:
        """Set some fields of a record, leaving the others as another process wrote them."""
        if not changes:
            return
        mapping = {name: encode_field(value) for name, value in changes.items()}
        pipe = pipeline if pipeline is not None else self.connection.pipeline()
        pipe.hset(keys.record(job_id), mapping=replies.fields(mapping))
        pipe.expire(keys.record(job_id), self.ttl_s)
        if pipeline is None:
            pipe.execute()

    def increment_attempts(self, job_id: str) -> int:
        return int(self.connection.hincrby(keys.record(job_id), "attempts", 1))
