"""A job's place in line: the per-user slot, enqueueing, the position, and cancelling.

:class:`Line` is one part of :class:`jobs.queue.JobQueue`, built on its connection, record store
and RQ queues. Invariant: a person has at most ``max_jobs_per_user`` jobs that have not ended in
their ``user_active`` set (paid jobs always get in), and at most ``user_concurrency`` of them
handed to workers at once (RQ's rate limit per person). A slot is taken atomically by one Lua
script before a job is enqueued and given back by :func:`jobs.lifecycle.finish` when the job
ends, so racing uploads can't pass the limit and an ended job never keeps a slot.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis
from rq import Callback, Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQStatus
from rq.rate_limit import RateLimit, RateLimitRegistry

from jobs import keys, replies
from jobs.delivery import Delivery, end_without_results
from jobs.errors import UserLimitError
from jobs.records import JobKind, JobRecord, JobStatus, RecordStore
from jobs.scripts import FINISHED_LUA, script
from jobs.settings import Settings
from jobs.storage import Storage
from jobs.timeouts import CALLBACK_TIMEOUT_S, job_timeout, retry_policy
from service.errors import ErrorCode

TASK = "jobs.tasks.process"
FAILURE_CALLBACK = "jobs.tasks.on_failure"
# RQ states in which a job is waiting, not running: cancelling it ends it at once.
_WAITING = (RQStatus.QUEUED, RQStatus.RATE_LIMITED, RQStatus.SCHEDULED, RQStatus.DEFERRED)

# Reserve a per-user slot: drop members whose record ended or vanished, then add if under limit.
# KEYS: user-active set, ARGV: limit, job id, record key prefix, force ("1": paid, never refused)
_RESERVE_SCRIPT = script(
    FINISHED_LUA
    + """
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    local status = redis.call('HGET', ARGV[3] .. member, 'status')
    if (not status) or FINISHED[status] then
        redis.call('SREM', KEYS[1], member)
    end
end
if ARGV[4] ~= '1' and redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[1]) then
    return 0
end
redis.call('SADD', KEYS[1], ARGV[2])
return 1
"""
)


class Line:
    """Places in line: reserve, enqueue, look up, cancel. A paid job cancelled here has its
    order's pins dropped through ``delivery``."""

    def __init__(
        self,
        connection: redis.Redis,
        settings: Settings,
        storage: Storage,
        records: RecordStore,
        queues: Mapping[JobKind, Queue],
        delivery: Delivery,
    ) -> None:
        self.connection = connection
        self.settings = settings
        self.storage = storage
        self.records = records
        self.queues = queues
        self.delivery = delivery

    def active_jobs(self, platform: str, user_id: str | int) -> list[JobRecord]:
        """The person's jobs that have not ended, oldest first."""
        ids = self.connection.smembers(keys.user_active(platform, str(user_id)))
        found = [self.records.get(replies.text(i)) for i in ids]
        return sorted((r for r in found if r is not None and not r.finished), key=lambda r: r.created_at)

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
        if job is not None and status in _WAITING:
            try:
                job.cancel()
            except InvalidJobOperation:
                pass  # a worker took it in between: the task sees cancel_requested and stops
            else:
                end_without_results(
                    self.connection,
                    self.storage,
                    record,
                    JobStatus.CANCELLED,
                    self.settings.events_maxlen,
                    error_code=ErrorCode.CANCELLED,
                )
        elif job is None or status in (RQStatus.CANCELED, RQStatus.STOPPED, RQStatus.FAILED):
            # Nothing will run it any more: end the record here.
            end_without_results(
                self.connection,
                self.storage,
                record,
                JobStatus.CANCELLED,
                self.settings.events_maxlen,
                error_code=ErrorCode.CANCELLED,
            )
        return True

    def reserve(self, record: JobRecord) -> None:
        """Create the record and take a per-user slot for it, or raise :class:`UserLimitError`
        (and leave no record behind)."""
        self.records.register(record)
        ok = _RESERVE_SCRIPT(
            keys=[keys.user_active(record.platform, record.user_id)],
            args=[
                self.settings.max_jobs_per_user,
                record.id,
                keys.record(""),
                "1" if record.order_id else "0",
            ],
            client=self.connection,
        )
        if not ok:
            self.records.unregister(record)
            raise UserLimitError(self.settings.max_jobs_per_user)

    def abandon(self, record: JobRecord, delete_input: bool = True) -> None:
        """Undo a submission that failed before it was enqueued."""
        self.connection.srem(keys.user_active(record.platform, record.user_id), record.id)
        self.records.unregister(record)
        if delete_input:
            self.storage.delete(record.input_key)

    def enqueue(self, record: JobRecord) -> Job:
        """Hand a reserved record's job to RQ (``jobs.tasks.process`` by name)."""
        queue = self.queues[record.kind]
        return queue.enqueue_call(
            TASK,
            args=(record.id,),
            job_id=record.id,
            timeout=job_timeout(self.settings, record.duration_s, record.kind, karaoke=bool(record.karaoke)),
            result_ttl=int(self.settings.retention_s),
            failure_ttl=int(self.settings.record_ttl_s),
            # RQ logs the description and the dashboard shows it: ids only, never a person or a
            # file name (those live in the record, which /forget deletes).
            description=f"{record.kind} job {record.id} from {record.platform}",
            meta={"progress": 0},
            retry=retry_policy(self.settings),
            on_failure=Callback(FAILURE_CALLBACK, timeout=CALLBACK_TIMEOUT_S),
            rate_limit=RateLimit(
                keys.user_rate_limit(record.platform, record.user_id),
                self.settings.user_concurrency,
            ),
        )
