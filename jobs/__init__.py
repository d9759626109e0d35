"""The job pipeline: songs in, stems out, on workers that keep the model warm.

The bots and payments use only what this package exports; nothing here is platform-specific
(ids are strings; ``platform`` is ``"telegram"``, ``"discord"``, ...) and nothing imports torch.

Submitting and watching (a bot)::

    from jobs import EventConsumer, EventType, JobQueue, UserFacingError

    queue = JobQueue.from_env()                      # REDIS_URL, STORAGE_DIR / S3_*, ...
    try:
        record = await asyncio.to_thread(
            queue.submit, user_id, "telegram", chat_id, path, kind="preview", filename=name
        )
    except UserFacingError as exc:   # bad file (AudioError), too many songs, busy (JobError)
        await reply(texts.text_of(exc))  # the catalogue words its code and params
    if record.cached:                                # same song done before: answer now,
        await send_results(record)                   # (no event for an unpaid answer)
    else:
        await reply(f"Queued, {queue.position(record.id)} ahead of you")

    consumer = EventConsumer(redis.asyncio.Redis.from_url(url), platform="telegram")
    await consumer.run(handle, stop, give_up)  # handle(event): PROGRESS / RETRYING / DONE /
        # FAILED / CANCELLED, several jobs at once, each job's in order; acked when handle
        # returns; a restarted bot gets what it missed; give_up(event, error) after
        # max_deliveries failures, then the event is dead-lettered

    queue.position(job_id) -> int | None        # jobs ahead; None once running or ended
    queue.cancel(job_id, user_id) -> bool       # a CANCELLED event follows
    queue.fetch_output(job_id, "vocals", dest)  # or queue.output_path(...) with local storage
    queue.stats() -> JobStats                   # today's jobs done/failed, waiting, preview wait
    queue.render_karaoke(preview_job_id, KaraokeSettings(semitones=2))  # the preview clip in a
        # new key on a worker; answered by a kind="karaoke" DONE (outputs["karaoke"]) or FAILED

Paying and delivering (payments + bot)::

    queue.keep_song(preview_job_id) -> float  # about to be paid for: seconds it stays stored
    full = queue.submit_full(preview_job_id, order_id, output_format="mp3",
                             karaoke="g12.k2.t90")  # pins the song; karaoke: + output "karaoke"
    # ... DONE event with event.order_id (also when answered from the cache); results stay
    # pinned (kept past retention) ...
    queue.fail_full(preview_job_id, order_id, InputExpiredError(...))  # song gone: refund event
    queue.mark_delivered(full.id, keep_s=7 * 86400)  # unpin; held as long as the links given
    # FAILED / CANCELLED events for a paid job carry refund=True: refund or credit the order.
    queue.pin(job_id, order_id)     # keep any finished job's results until mark_delivered
    queue.release(job_id)           # a paid result refunded instead of delivered: let it go
    forget_user(queue, platform, user_id)  # /forget: records, RQ jobs, stored songs and results

The worker (``python worker.py``) and the design are described in docs/PIPELINE.md.
"""

from __future__ import annotations

from engine.errors import AudioError, UserFacingError
from jobs.errors import (
    BusyError,
    InputExpiredError,
    JobError,
    JobNotFoundError,
    NotDeliveredError,
    UserLimitError,
)
from jobs.events import EventConsumer, EventType, JobEvent
from jobs.forget import ForgetReport, forget_user
from jobs.queue import JobQueue, JobWait
from jobs.records import JobKind, JobRecord, JobStatus
from jobs.retention import SweepReport, sweep
from jobs.settings import Settings
from jobs.stats import JobStats
from jobs.storage import LocalStorage, S3Storage, Storage, StorageError, open_storage, safe_name, stored_name
from jobs.submit import MAX_CONCURRENT_DECODES
from jobs.wait import WaitEstimate

__all__ = [
    "AudioError",
    "BusyError",
    "EventConsumer",
    "ForgetReport",
    "EventType",
    "InputExpiredError",
    "NotDeliveredError",
    "JobError",
    "JobEvent",
    "JobKind",
    "JobNotFoundError",
    "JobQueue",
    "JobRecord",
    "JobStats",
    "JobStatus",
    "JobWait",
    "MAX_CONCURRENT_DECODES",
    "LocalStorage",
    "S3Storage",
    "Settings",
    "Storage",
    "StorageError",
    "SweepReport",
    "UserFacingError",
    "UserLimitError",
    "WaitEstimate",
    "forget_user",
    "open_storage",
    "safe_name",
    "stored_name",
    "sweep",
]
