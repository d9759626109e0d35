"""``/forget`` on the pipeline's side: one entry point, :func:`forget_user`.

What a person leaves in the pipeline — job records (file names, song tags, chat ids), RQ's jobs,
and the songs and results stored for their jobs — is found through ``user_jobs`` (every record is
listed there when it is created, :meth:`jobs.records.RecordStore.register`) and ``user_active``. The
bots call :func:`bots.core.forget.forget_person`, which forgets the person in payments, here and
in the bot's own state, in that order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.rate_limit import RateLimitRegistry

from jobs import keys, replies
from jobs.analysis import RQ_ID_PREFIX as ANALYSIS_RQ_PREFIX
from jobs.karaoke_jobs import RQ_ID_PREFIX as KARAOKE_RQ_PREFIX
from jobs.keys import check_platform
from jobs.records import JobStatus

if TYPE_CHECKING:
    from jobs.queue import JobQueue


@dataclass
class ForgetReport:
    """What :func:`forget_user` deleted, and what an open order still keeps."""

    deleted_records: list[str] = field(default_factory=list)
    deleted_files: list[str] = field(default_factory=list)
    kept_pinned: list[str] = field(default_factory=list)  # stored objects an order still pins
    kept_jobs: list[str] = field(default_factory=list)  # paid results not delivered yet


def forget_user(queue: JobQueue, platform: str, user_id: str | int) -> ForgetReport:
    """Delete what the pipeline holds about a person (``/forget``): their job records, RQ's
    jobs for them (karaoke renders of their previews too), their karaoke render slot, RQ's
    per-person rate-limit keys, their jobs' events in the platform's stream and its dead
    letters, and the songs and results stored for their jobs. Nothing in Redis names the person
    afterwards; what outlives it is the day's karaoke render count, an abuse limit kept under
    their keyed HMAC (:func:`service.pseudonyms.abuse_mark`), never their id.

    Unfinished jobs are cancelled first (a paid one gets its refund event); a running one
    stops at its next progress step (its record is gone, which the worker reads as a
    cancel). Kept: a paid job whose results were not delivered yet (the order still needs
    it, and its events), the events of a paid job cancelled here (its refund), objects
    another order pins, and other people's results that answered this person's songs from
    the cache. (Through the bots none of these money cases is met: payments refuses /forget
    while an order is paid and undelivered.)"""
    platform = check_platform(platform)
    uid = str(user_id)
    index, active = keys.user_jobs(platform, uid), keys.user_active(platform, uid)
    ids = {replies.text(raw) for raw in queue.connection.sunion([index, active])}
    report = ForgetReport()
    refunding: set[str] = set()
    renders = _karaoke_renders(queue, ids)
    for job_id in sorted(ids):
        record = queue.records.get(job_id)
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
            if record.order_id:
                refunding.add(job_id)  # its cancel event is the order's refund: it stays
            queue.cancel(job_id)
        for prefix in (f"inputs/{job_id}/", f"results/{job_id}/"):
            for obj in list(queue.storage.list(prefix)):
                if queue.connection.scard(keys.pins(obj.key)):
                    report.kept_pinned.append(obj.key)
                    continue
                queue.storage.delete(obj.key)
                report.deleted_files.append(obj.key)
        for rq_id in [job_id, f"{ANALYSIS_RQ_PREFIX}{job_id}", *renders.get(job_id, ())]:
            try:
                Job.fetch(rq_id, connection=queue.connection).delete()
            except NoSuchJobError:
                pass
        if queue.connection.delete(keys.record(job_id)):
            report.deleted_records.append(job_id)
        queue.connection.srem(index, job_id)
        queue.connection.srem(active, job_id)
    queue.connection.delete(keys.karaoke_slot(platform, uid))
    _forget_rate_limit(queue, keys.user_rate_limit(platform, uid))
    for stream in (keys.events(platform), keys.dead_events(platform)):
        _forget_events(queue, stream, uid, keep={*report.kept_jobs, *refunding})
    return report


def _karaoke_renders(queue: JobQueue, job_ids: set[str]) -> dict[str, list[str]]:
    """RQ ids of the karaoke renders of each of ``job_ids`` (``karaoke-<job>-<settings>``, see
    :func:`jobs.karaoke_jobs.rq_job_id`): one scan of RQ's karaoke jobs."""
    found: dict[str, list[str]] = {}
    prefix = f"{Job.redis_job_namespace_prefix}{KARAOKE_RQ_PREFIX}"
    for raw in queue.connection.scan_iter(match=f"{prefix}*"):
        rq_id = raw.decode().removeprefix(Job.redis_job_namespace_prefix)
        # Job ids are hex (no dash); the settings part may hold one (a key down: "k-2").
        job_id = rq_id.removeprefix(KARAOKE_RQ_PREFIX).partition("-")[0]
        if job_id in job_ids:
            found.setdefault(job_id, []).append(rq_id)
    return found


EVENTS_SCAN_COUNT = 1000  # stream entries read per round trip while /forget looks for theirs


def _forget_events(queue: JobQueue, stream: str, user_id: str, keep: set[str]) -> None:
    """Delete the person's entries from one platform's event stream (``XDEL``), but those of
    ``keep``: money still moving (a paid job still to deliver, or one cancelled just now, whose
    event makes the bot refund). Every event carries its person's id and chat id and
    the stream keeps up to ``EVENTS_MAXLEN`` of them, so they would outlive /forget by days; one
    pass over the stream, in batches, is the price of a rare request. A deleted entry that a bot
    had read but not acknowledged comes back empty and is acknowledged (``EventConsumer``)."""
    start = "-"
    while True:
        entries = queue.connection.xrange(stream, min=start, count=EVENTS_SCAN_COUNT) or []
        theirs: list[bytes | str] = []
        for stream_id, fields in entries:
            data = json.loads((fields or {}).get(b"data", b"{}"))
            mine = data.get("user_id") == user_id and data.get("job_id") not in keep
            if mine and stream_id is not None:
                theirs.append(stream_id)
        if theirs:
            queue.connection.xdel(stream, *theirs)
        last_id = entries[-1][0] if entries else None
        if len(entries) < EVENTS_SCAN_COUNT or last_id is None:  # (redis-py types an id None)
            return
        start = "(" + replies.text(last_id)


def _forget_rate_limit(queue: JobQueue, key: str) -> None:
    """Drop RQ's rate-limit registry of one person (its config hash, its allowed and waiting
    sets, and its name in ``rq:rl-keys``): RQ gives them no TTL. Their jobs were cancelled or
    deleted just before; one still running releases its slot into nothing when it stops."""
    registry = RateLimitRegistry(key, queue.connection)
    with queue.connection.pipeline() as pipe:
        pipe.srem(registry.rl_keys_key, key)
        pipe.delete(registry.config_key, registry.allowed_key, registry.rate_limited_key)
        pipe.execute()
