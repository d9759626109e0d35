"""The one place a job ends: done, failed or cancelled, exactly once.

Ending a job touches four things that must agree — the record's status, the person's in-flight
slot (the per-user limit), the event the bot turns into a message (or a refund) and the day's
counters (:mod:`jobs.stats`) — and, for a job done, the same-song cache entry pointing at its
results (:mod:`jobs.cache`). A Lua script does all of it atomically and only if the job has not
ended yet, so a worker finishing a job, a user cancelling it and RQ's clean-up of a dead worker
can race without a job ending (or being counted) twice, without a slot leaking, and without an
ended job whose bot was never told; and whoever sees the end (the record or the event) can
already be answered from the cache by the same song.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import redis

from jobs import keys, stats
from jobs.events import EventType, JobEvent, publish
from jobs.records import FINISHED_STATUSES, JobKind, JobRecord, JobStatus, encode_field
from jobs.scripts import FINISHED_LUA, script

# KEYS: record, user-active set, events stream, the day's stats hash[, the cache entry to set]
# ARGV: job_id, maxlen, event json, stats counter, preview latency ("" if none), stats ttl,
#       the cache entry's ttl (ignored without that key), then field/value pairs for the record
_FINISH_SCRIPT = script(
    FINISHED_LUA
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if FINISHED[status] then return 0 end
local fields = {}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('SREM', KEYS[2], ARGV[1])
local entry = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'data', ARGV[3])
redis.call('HSET', KEYS[1], 'end_event_id', entry)
redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
if ARGV[5] ~= '' then
    redis.call('HINCRBYFLOAT', KEYS[4], 'preview_latency_sum', ARGV[5])
    redis.call('HINCRBY', KEYS[4], 'preview_latency_count', 1)
end
redis.call('EXPIRE', KEYS[4], ARGV[6])
if KEYS[5] then redis.call('SET', KEYS[5], ARGV[1], 'EX', ARGV[7]) end
return 1
"""
)

_EVENT_FOR = {
    JobStatus.DONE: EventType.DONE,
    JobStatus.FAILED: EventType.FAILED,
    JobStatus.CANCELLED: EventType.CANCELLED,
}
assert set(_EVENT_FOR) == FINISHED_STATUSES


def event_for(record: JobRecord, type_: EventType, **extra: Any) -> JobEvent:
    """An event about ``record`` with the addressing fields every bot needs."""
    return JobEvent(
        type=type_,
        job_id=record.id,
        platform=record.platform,
        user_id=record.user_id,
        chat_id=record.chat_id,
        kind=str(record.kind),
        order_id=record.order_id,
        attempt=record.attempts,
        language=record.language,
        **extra,
    )


def finish(
    connection: redis.Redis,
    record: JobRecord,
    status: JobStatus,
    maxlen: int,
    *,
    outputs: dict[str, str] | None = None,
    error_code: str = "",
    error_params: Mapping[str, Any] | None = None,
    cache_entry: tuple[str, int] | None = None,
    **fields: Any,
) -> bool:
    """End the job with ``status``; return False (and change nothing) if it had already ended.

    ``cache_entry`` (a job done only): the same-song cache key and its ttl in seconds, set to
    this job's id with the end (:func:`jobs.cache.entry_for`)."""
    if status not in FINISHED_STATUSES:
        raise ValueError(f"{status} is not a final status")
    if cache_entry is not None and status is not JobStatus.DONE:
        raise ValueError("only a job done answers from the cache")
    now = time.time()
    changes: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "error_code": error_code,
        "error_params": dict(error_params or {}),
        **fields,
    }
    if status is JobStatus.DONE:
        changes["progress"] = 100
        changes["outputs"] = outputs or {}
    # A paid job that ends without results must be refunded or credited by the payments side.
    refund = bool(record.order_id) and status is not JobStatus.DONE
    event = event_for(
        record,
        _EVENT_FOR[status],
        progress=100 if status is JobStatus.DONE else record.progress,
        outputs=outputs or {},
        error_code=error_code,
        error_params=dict(error_params or {}),
        refund=refund,
    )
    waited = status is JobStatus.DONE and record.kind == JobKind.PREVIEW
    argv: list[str] = [
        record.id,
        str(maxlen),
        event.to_fields()["data"],
        stats.ended_field(status, record.kind),
        f"{max(0.0, now - record.created_at):.3f}" if waited else "",
        str(stats.STATS_TTL_S),
        str(cache_entry[1] if cache_entry else 0),
    ]
    for name, value in changes.items():
        argv += [name, encode_field(value)]
    ended = _FINISH_SCRIPT(
        keys=[
            keys.record(record.id),
            keys.user_active(record.platform, record.user_id),
            keys.events(record.platform),
            keys.stats(stats.day(now)),
            *([cache_entry[0]] if cache_entry else []),
        ],
        args=argv,
        client=connection,
    )
    return bool(ended)


def republish_end(connection: redis.Redis, record: JobRecord, maxlen: int) -> str | None:
    """Publish an ended job's final event again — the same one :func:`finish` published — and
    note its new stream entry on the record; None (nothing published) if the job has not ended.

    For the one case where the stream lost it: ``XADD MAXLEN ~`` trims old entries whether or not
    the bots' group has read them, and a paid job's end must still reach its bot (deliver or
    refund). Handlers are idempotent (``record.delivered_at``, refunds once), so a copy that
    turns out to be a second one changes nothing."""
    if not record.finished:
        return None
    done = record.status is JobStatus.DONE
    event = event_for(
        record,
        _EVENT_FOR[record.status],
        progress=100 if done else record.progress,
        outputs=dict(record.outputs) if done else {},
        error_code=record.error_code,
        error_params=dict(record.error_params),
        error_message=record.error_message,
        refund=bool(record.order_id) and not done,
    )
    entry = publish(connection, event, maxlen)
    connection.hset(keys.record(record.id), "end_event_id", entry)
    return entry


def announce(connection: redis.Redis, record: JobRecord, type_: EventType, maxlen: int, **extra: Any) -> None:
    """Publish a non-final event (progress, retrying) about ``record``."""
    publish(connection, event_for(record, type_, **extra), maxlen)
