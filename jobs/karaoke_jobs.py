"""Karaoke variants of a finished preview, on their own queue: enqueue, render, tell the bot.

A person who changes the key (tempo, guide vocal) under a preview hears the preview clip in the
new settings before paying. That is :func:`jobs.karaoke_variants.render_karaoke` on the preview job's
stored stems (no second separation: a 30 s clip is seconds of work), run by a worker from the
``karaoke`` queue, which workers take after ``preview`` and ``full``: a free render never
delays a paid song, however many are asked for. The result reaches the bot like every job's
result, as an event on the platform's stream: ``kind="karaoke"``, ``job_id`` the preview's,
``karaoke`` the settings' compact form and ``outputs["karaoke"]`` the stored variant (DONE), or a
``error_code`` the catalogue words (FAILED) — never dropped silently, never a refund (nothing was paid).

Invariants: a render has no job record of its own (the preview's record addresses the event and
its retention covers the variant under ``results/<job>/``); the RQ job id is a function of
(preview, settings), so tapping the same button twice while one render waits queues one render;
a render that fails for good (stems expired, a transient error through every retry, the time
limit) publishes exactly one FAILED event; a person has at most one render in line (the slot
``keys.karaoke_slot`` names its RQ id; it frees when the render's event is published, when
that RQ job has ended, by its expiry or at /forget) and ``karaoke_renders_per_day`` per UTC day,
counted under the person's abuse mark (``keys.karaoke_renders``), so /forget does not reset it;
a render that ends after its preview's record was deleted (/forget) publishes nothing.

:class:`KaraokeRenders` is the part of :class:`jobs.queue.JobQueue` that puts renders in line
(``JobQueue.render_karaoke``); the task and its failure callback below run on a worker, named
by their dotted path in RQ (so this module keeps its name: renders waiting in Redis across a
deploy still find them). Rendering itself is :mod:`jobs.karaoke_variants`, shared with the
paid full job.
"""

from __future__ import annotations

import logging

import redis
from rq import Callback, Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQStatus

from engine.errors import AudioError
from engine.karaoke import KaraokeSettings
from jobs import job_metrics, keys, lifecycle, stats
from jobs.capacity import Capacity
from jobs.errors import JobNotFoundError, KaraokeInFlightError, KaraokeQuotaError
from jobs.events import KARAOKE_KIND, EventType
from jobs.karaoke_variants import render_karaoke
from jobs.records import JobKind, JobRecord, JobStatus, RecordStore
from jobs.scripts import script
from jobs.settings import Settings
from jobs.storage import StorageError
from jobs.timeouts import CALLBACK_TIMEOUT_S, karaoke_timeout, retry_policy
from service.errors import ErrorCode
from service.pseudonyms import abuse_mark

log = logging.getLogger(__name__)

TASK = "jobs.karaoke_jobs.render_preview"
FAILURE_CALLBACK = "jobs.karaoke_jobs.on_failure"
RQ_ID_PREFIX = "karaoke-"
# What an RQ job of a render still in line or running looks like: a second tap then adds nothing.
_PENDING_STATUSES = (RQStatus.QUEUED, RQStatus.STARTED, RQStatus.SCHEDULED, RQStatus.DEFERRED)
_PENDING = set(_PENDING_STATUSES)

EXPIRED_CODE = ErrorCode.KARAOKE_EXPIRED
FAILED_CODE = ErrorCode.KARAOKE_FAILED


RENDERS_TTL_S = 2 * 86400  # a day's render count outlives its UTC day, then goes
SLOT_SLACK_S = 60  # a slot outlives the longest its render can take by this much

# Take a person's render slot and count one render of the day, atomically.
# KEYS: the slot, the day's count. ARGV: RQ id, slot ttl, RQ job key prefix, per-day allowance,
# count ttl. Returns 0 (taken), 1 (another render of theirs is in line) or 2 (allowance used).
# A slot whose RQ job has ended is free; one whose RQ job is not written yet is being enqueued.
_PENDING_LUA = "local PENDING = {" + ", ".join(f"['{s.value}'] = true" for s in _PENDING_STATUSES) + "}"
_RESERVE_SCRIPT = script(
    _PENDING_LUA
    + """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
    local status = redis.call('HGET', ARGV[3] .. holder, 'status')
    if (not status) or PENDING[status] then
        return 1
    end
end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[4]) then
    return 2
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 0
"""
)

# KEYS: the preview's record, its platform's stream. ARGV: max length, the event's data.
# Publishes only while the record exists: a render that ends after /forget names nobody.
_PUBLISH_SCRIPT = script("""
if redis.call('EXISTS', KEYS[1]) == 0 then
    return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'data', ARGV[2])
return 1
""")

# KEYS: the slot. ARGV: the RQ id that ended. Frees the slot only if that render holds it.
_RELEASE_SCRIPT = script("""
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
""")


class KaraokeRenders:
    """Free karaoke renders of finished previews, put in line on the karaoke queue."""

    def __init__(
        self,
        connection: redis.Redis,
        settings: Settings,
        queue: Queue,
        records: RecordStore,
        capacity: Capacity,
    ) -> None:
        self.connection = connection
        self.settings = settings
        self.queue = queue
        self.records = records
        self.capacity = capacity

    def render(self, job_id: str, karaoke: KaraokeSettings) -> bool:
        """Render a finished preview's clip as the karaoke variant ``karaoke`` on a worker; the
        result comes as a ``kind="karaoke"`` event. False if the same render is already in line
        (its event answers this ask too).

        Renders are free and cost a worker seconds each, so they are bounded like previews and
        never delay a paid song: they wait on their own queue, after the full one; one person
        has one in line at a time (:class:`KaraokeInFlightError`) and
        ``karaoke_renders_per_day`` a UTC day (:class:`KaraokeQuotaError`); while the workers
        are busy they are refused as a preview is (:class:`BusyError`). Raises
        :class:`JobNotFoundError` when the preview is not a finished one (gone, or not done)."""
        record = self.records.require(job_id)
        if record.kind is not JobKind.PREVIEW or record.status is not JobStatus.DONE:
            raise JobNotFoundError(job_id)
        if pending(self.connection, record, karaoke):
            return False
        self.capacity.check_renders()
        return enqueue(self.connection, self.queue, self.settings, record, karaoke)


def rq_job_id(job_id: str, settings: KaraokeSettings) -> str:
    """RQ's id for rendering ``settings`` of job ``job_id`` (RQ ids take no dots)."""
    return f"{RQ_ID_PREFIX}{job_id}-{settings.to_string().replace('.', '_')}"


def enqueue(
    connection: redis.Redis,
    queue: Queue,
    settings: Settings,
    record: JobRecord,
    karaoke: KaraokeSettings,
) -> bool:
    """Put the render of ``karaoke`` for the finished preview ``record`` in line; False if the
    same render is already waiting or running (its event will answer this tap too). Raises
    :class:`KaraokeInFlightError` while another render of the person's is in line and
    :class:`KaraokeQuotaError` once they used ``settings.karaoke_renders_per_day`` today."""
    if pending(connection, record, karaoke):
        return False
    job_id = rq_job_id(record.id, karaoke)
    timeout = karaoke_timeout(min(record.duration_s, settings.preview_length_s))
    slot = keys.karaoke_slot(record.platform, record.user_id)
    count = keys.karaoke_renders(stats.day(), abuse_mark(settings.abuse_key, record.platform, record.user_id))
    # The longest a render can stay in line: every attempt to its time limit, and the waits.
    slot_ttl = timeout * (settings.job_retries + 1) + sum(settings.retry_backoff_s) + SLOT_SLACK_S
    taken = _RESERVE_SCRIPT(
        keys=[slot, count],
        args=[
            job_id,
            int(slot_ttl),
            Job.redis_job_namespace_prefix,
            settings.karaoke_renders_per_day,
            RENDERS_TTL_S,
        ],
        client=connection,
    )
    if taken == 1:
        raise KaraokeInFlightError()
    if taken == 2:
        raise KaraokeQuotaError(settings.karaoke_renders_per_day)
    try:
        _enqueue(queue, settings, record, karaoke, job_id, timeout)
    except BaseException:
        _RELEASE_SCRIPT(keys=[slot], args=[job_id], client=connection)
        connection.decr(count)
        raise
    return True


def pending(connection: redis.Redis, record: JobRecord, karaoke: KaraokeSettings) -> bool:
    """Is this very render (preview, settings) already waiting or running?"""
    try:
        job = Job.fetch(rq_job_id(record.id, karaoke), connection=connection)
    except NoSuchJobError:
        return False
    return job.get_status() in _PENDING


def _enqueue(
    queue: Queue,
    settings: Settings,
    record: JobRecord,
    karaoke: KaraokeSettings,
    job_id: str,
    timeout: float,
) -> None:
    queue.enqueue_call(
        TASK,
        args=(record.id, karaoke.to_string()),
        job_id=job_id,
        timeout=int(timeout),  # RQ's own parse_timeout truncates the same way
        result_ttl=int(settings.record_ttl_s),
        failure_ttl=int(settings.record_ttl_s),
        # Logged by RQ, shown by the dashboard: ids only, never a person or a file name.
        description=f"karaoke {karaoke} of job {record.id} from {record.platform}",
        retry=retry_policy(settings),
        on_failure=Callback(FAILURE_CALLBACK, timeout=CALLBACK_TIMEOUT_S),
    )


def render_preview(job_id: str, form: str) -> str:
    """The task: render the variant and publish DONE; an expired preview publishes FAILED at
    once (no retry can bring stems back). Returns the variant's key ("" when it failed)."""
    from jobs.tasks import get_context  # the worker's process-wide connections and settings

    ctx = get_context()
    record = RecordStore(ctx.connection, ctx.settings.record_ttl_s).get(job_id)
    if record is None or "instrumental" not in record.outputs:
        log.info("karaoke for job %s: its record is gone", job_id)
        return ""  # forgotten (/forget) or expired: nobody to tell, nothing to render from
    settings = KaraokeSettings.parse(form)
    try:
        key = render_karaoke(
            ctx.storage,
            job_id,
            record.outputs,
            settings,
            max_duration_s=ctx.settings.max_duration_s,
        )
    except (StorageError, AudioError) as exc:
        log.info("karaoke %s for job %s: stems unusable: %s", form, job_id, exc)
        job_metrics.ended_failed(keys.KARAOKE_QUEUE, EXPIRED_CODE)
        _publish(ctx.connection, ctx.settings, record, form, EventType.FAILED, error_code=EXPIRED_CODE)
        return ""
    _publish(ctx.connection, ctx.settings, record, form, EventType.DONE, outputs={"karaoke": key})
    return key


def on_failure(
    job: Job,
    connection: redis.Redis,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    traceback: object,
) -> None:
    """RQ's failure callback: once retries are spent (or the render timed out for good), the
    person is told; earlier attempts just run again."""
    job_metrics.attempt_failed(job.origin, exc_type, retrying=bool(job.retries_left))
    if job.retries_left:
        return
    from jobs.tasks import _context

    settings = _context.settings if _context is not None else Settings.from_env()
    job_id, form = job.args
    record = RecordStore(connection, settings.record_ttl_s).get(job_id)
    if record is None:
        return
    log.error(
        "karaoke %s for job %s failed for good: %s: %s",
        form,
        job_id,
        exc_type.__name__ if exc_type else "unknown",
        exc_value,
    )
    job_metrics.ended_failed(job.origin, FAILED_CODE)
    _publish(connection, settings, record, form, EventType.FAILED, error_code=FAILED_CODE)


def _publish(
    connection: redis.Redis,
    settings: Settings,
    record: JobRecord,
    form: str,
    type_: EventType,
    **fields: object,
) -> None:
    event = lifecycle.event_for(record, type_, **fields)
    event.kind = KARAOKE_KIND
    event.karaoke = form
    event.order_id = None  # a preview's variant: never money
    # The person is about to have their answer: free the slot first, so a tap made as soon as
    # the clip arrives may render again.
    _RELEASE_SCRIPT(
        keys=[keys.karaoke_slot(record.platform, record.user_id)],
        args=[rq_job_id(record.id, KaraokeSettings.parse(form))],
        client=connection,
    )
    _PUBLISH_SCRIPT(
        keys=[keys.record(record.id), keys.events(record.platform)],
        args=[settings.events_maxlen, event.to_fields()["data"]],
        client=connection,
    )
