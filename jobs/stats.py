"""Today's job figures for operators (the bots' /stats): jobs ended, waiting, and preview waits.

Counters live in one Redis hash per UTC day (``vr:stats:<day>``). A job is counted by the script
that ends it (:mod:`jobs.lifecycle`), in the same atomic step that sets its final status — so a job
is counted once, however many parties race to end it. A preview's latency is what its person
waited: from the upload being accepted (the record's ``created_at``) to its results being ready.
Songs answered from the cache ran no job; they are counted apart. Days expire after a week.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from rq import Queue

from jobs import keys, replies
from jobs.records import JobKind, JobStatus

STATS_TTL_S = 8 * 86400
FIELD_LATENCY_SUM = "preview_latency_sum"
FIELD_LATENCY_COUNT = "preview_latency_count"
FIELD_CACHED = "cached"


def day(ts: float | None = None) -> str:
    """The UTC day a timestamp falls on, as the stats key names it (``2026-11-26``)."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).strftime("%Y-%m-%d")


def ended_field(status: JobStatus, kind: JobKind) -> str:
    """The counter a job that ended with ``status`` adds one to, e.g. ``done:preview``."""
    return f"{status}:{kind}"


def count_cached(connection: redis.Redis) -> None:
    """A song answered from the cache: no job ran, but a person was served."""
    key = keys.stats(day())
    pipe = connection.pipeline()
    pipe.hincrby(key, FIELD_CACHED, 1)
    pipe.expire(key, STATS_TTL_S)
    pipe.execute()


@dataclass(frozen=True)
class JobStats:
    """One day's figures; ``waiting`` and ``running`` are as of now."""

    day: str
    done: dict[str, int]  # by kind: "preview", "full"
    failed: dict[str, int]
    cancelled: dict[str, int]
    cached: int
    waiting: dict[str, int]  # by queue
    running: int
    mean_preview_latency_s: float | None


def read(connection: redis.Redis, queues: Mapping[JobKind, Queue], on_day: str | None = None) -> JobStats:
    """The figures for ``on_day`` (default: today, UTC)."""
    when = on_day or day()
    raw = {replies.text(k): replies.text(v) for k, v in connection.hgetall(keys.stats(when)).items()}

    def by_kind(status: JobStatus) -> dict[str, int]:
        return {str(kind): int(raw.get(ended_field(status, kind), 0)) for kind in JobKind}

    latency_n = int(raw.get(FIELD_LATENCY_COUNT, 0))
    latency_sum = float(raw.get(FIELD_LATENCY_SUM, 0.0))
    return JobStats(
        day=when,
        done=by_kind(JobStatus.DONE),
        failed=by_kind(JobStatus.FAILED),
        cancelled=by_kind(JobStatus.CANCELLED),
        cached=int(raw.get(FIELD_CACHED, 0)),
        waiting={str(kind): queue.count for kind, queue in queues.items()},
        running=sum(queue.started_job_registry.get_job_count(cleanup=False) for queue in queues.values()),
        mean_preview_latency_s=latency_sum / latency_n if latency_n else None,
    )
