"""A waiting preview's place and expected wait, told again as the line moves.

The bot tells a person their place and expected wait when their preview is queued; while it
waits no progress event comes, so this module publishes a :attr:`EventType.WAITING` event (place
and ``wait_s``, :func:`jobs.wait.expected_wait`) on the job's platform stream every
``WAIT_UPDATE_INTERVAL_S`` (10 s), which the bot turns into an edit of the same status message — the
path progress events take. A bot process runs :func:`announce_due` in a loop for its platform
(``Flow.run_wait_updates``).

Invariant: a WAITING event is published only while the job's record still says ``queued``,
checked in the same Lua script that appends it, so it always precedes the job's first progress
event in the stream (the worker marks the record running before it publishes one) and an edit
can never put "in line" back over "separating" or the preview. Each job is told at most once per
interval however many bot replicas run the loop: the script also claims the job's next turn in
the platform's sorted set (:func:`jobs.keys.waiting_updates`), and drops a job that no longer
waits.
"""

from __future__ import annotations

import time

import redis
from rq import Queue

from jobs import keys, lifecycle, wait
from jobs.events import EventType
from jobs.records import JobKind, JobRecord, JobStatus, RecordStore
from jobs.replies import text
from jobs.scripts import script
from jobs.settings import Settings

MAX_PER_ROUND = 200  # jobs told per call; the rest are due at the next call

# KEYS: [1] the platform's waiting set (job id -> next turn), [2] the job's record, [3] the
#       platform's event stream. ARGV: [1] job id, [2] now, [3] its next turn, [4] stream max
#       length, [5] the event's data. Returns 1 if published, 0 if another replica had told it
#       (its turn moved on) or it no longer waits (then it leaves the set).
_ANNOUNCE_SCRIPT = script(f"""
local turn = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not turn) or tonumber(turn) > tonumber(ARGV[2]) then
    return 0
end
if redis.call('HGET', KEYS[2], 'status') ~= '{JobStatus.QUEUED.value}' then
    redis.call('ZREM', KEYS[1], ARGV[1])
    return 0
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'data', ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
""")


def watch(connection: redis.Redis, settings: Settings, record: JobRecord) -> None:
    """A free preview was queued and its person told: tell them again in an interval."""
    next_turn = time.time() + settings.wait_update_interval_s
    connection.zadd(keys.waiting_updates(record.platform), {record.id: next_turn})


def announce_due(
    connection: redis.Redis, settings: Settings, records: RecordStore, previews: Queue, platform: str
) -> int:
    """Publish the WAITING events of ``platform``'s previews whose turn has come; returns how
    many. One estimate (workers, preview time) and one read of the queue serve the round."""
    key = keys.waiting_updates(platform)
    now = time.time()
    next_turn = now + settings.wait_update_interval_s
    members: list[bytes] = connection.zrangebyscore(key, "-inf", now, start=0, num=MAX_PER_ROUND)  # type: ignore[assignment]
    due = [text(member) for member in members]
    if not due:
        return 0
    estimate = wait.current(connection, settings, [previews])
    places = {job_id: index for index, job_id in enumerate(previews.get_job_ids())}
    told = 0
    for job_id in due:
        record = records.get(job_id)
        if record is None or record.kind is not JobKind.PREVIEW or record.status is not JobStatus.QUEUED:
            connection.zrem(key, job_id)
            continue
        ahead = places.get(job_id)
        if ahead is None:  # handed to a worker this moment, or held back behind the person's own
            connection.zadd(key, {job_id: next_turn})
            continue
        event = lifecycle.event_for(
            record,
            EventType.WAITING,
            place=ahead + 1,
            wait_s=round(estimate.behind(ahead), 1),
        )
        told += _ANNOUNCE_SCRIPT(
            keys=[key, keys.record(job_id), keys.events(platform)],
            args=[job_id, now, next_turn, settings.events_maxlen, event.to_fields()["data"]],
            client=connection,
        )
    return told
