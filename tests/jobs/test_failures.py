"""Failures: bad audio fails at once; a worker killed mid-job loses nothing; Redis restarts."""

from __future__ import annotations

import time
from collections.abc import Callable

from rq import Queue
from rq.scheduler import RQScheduler

from jobs import EventType, JobKind, JobQueue, JobStatus, Settings, keys
from jobs.retention import pinned
from jobs.scheduler import client_name
from service.errors import ErrorCode
from testbed.metrics import metrics_base_for, scrape
from texts import error_text

from .conftest import events_for, wait_for


def test_audio_that_breaks_in_the_worker_fails_at_once_without_retries(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    record = job_queue.submit("u1", "telegram", "c1", make_song(1.0, 1), filename="Private Name.wav")
    # The stored upload is damaged after it was accepted (a bad disk, a partial copy).
    job_queue.storage.put_bytes(record.input_key, b"RIFF" + b"\x00" * 64)
    base, port = metrics_base_for("worker")
    (worker,) = start_workers(1, METRICS_PORT=str(base))
    failed = wait_for(lambda: (r := job_queue.get(record.id)) and r.finished and r)
    assert failed.status is JobStatus.FAILED and failed.attempts == 1
    assert failed.error_code in {"not_audio", "corrupt_audio", "empty_audio"}
    said = error_text(failed.error_code, **failed.error_params)
    assert said and "Traceback" not in said
    types = [e.type for e in events_for(job_queue.connection, "telegram", record.id)]
    assert types == [EventType.FAILED]  # no retry for bad input
    assert job_queue.active_jobs("telegram", "u1") == []
    figures = job_queue.stats()
    assert figures.failed["preview"] == 1 and figures.done["preview"] == 0
    assert figures.mean_preview_latency_s is None  # nobody got a preview
    # The worker's /metrics: one failure, with its code; no retry, no time-limit kill.
    exported = scrape(f"http://127.0.0.1:{port}/metrics")
    assert exported.value("vr_job_failures_total", queue="preview", code=failed.error_code) == 1
    assert exported.value("vr_job_failures_total") == 1
    assert exported.value("vr_job_retries_total") == exported.value("vr_job_timeouts_total") == 0
    assert "Private" not in worker.output()  # logged by id, never the person's file name


def _kill_mid_job(job_queue: JobQueue, start_workers: Callable, record_id: str) -> int:
    (victim,) = start_workers(1)
    wait_for(
        lambda: (r := job_queue.get(record_id)) and r.status is JobStatus.RUNNING and r.progress >= 10,
        what="job running",
        interval=0.02,
    )
    victim.kill()
    return victim.pid


def test_worker_killed_mid_job_is_retried_by_another_worker(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    record = job_queue.submit("u1", "telegram", "c1", make_song(60.0, 1), kind=JobKind.FULL)
    dead_pid = _kill_mid_job(job_queue, start_workers, record.id)
    (rescuer,) = start_workers(1)
    done = wait_for(lambda: (r := job_queue.get(record.id)) and r.finished and r, timeout=90)
    assert done.status is JobStatus.DONE and done.attempts == 2
    assert done.worker_pid == rescuer.pid != dead_pid
    types = [e.type for e in events_for(job_queue.connection, "telegram", record.id)]
    assert EventType.RETRYING in types and types[-1] is EventType.DONE
    assert types.count(EventType.DONE) == 1


def test_paid_job_whose_worker_dies_for_good_fails_with_a_refund_event(
    settings: Settings, start_workers: Callable, make_song: Callable
) -> None:
    queue = JobQueue(settings.with_overrides(job_retries=0))
    record = queue.submit("u1", "discord", "c1", make_song(60.0, 2), kind="full", order_id="order-9")
    _kill_mid_job(queue, start_workers, record.id)
    start_workers(1)  # its maintenance finds the abandoned job
    failed = wait_for(lambda: (r := queue.get(record.id)) and r.finished and r, timeout=60)
    assert failed.status is JobStatus.FAILED and failed.error_code == ErrorCode.JOB_FAILED
    assert failed.error_params == {"exception": "AbandonedJobError"}
    (event,) = [e for e in events_for(queue.connection, "discord", record.id) if e.type is EventType.FAILED]
    assert event.refund and event.order_id == "order-9"
    assert error_text(event.error_code, **event.error_params)
    # The order is refunded, so the song is no longer pinned past retention.
    assert pinned(queue.connection) == {}


def test_queued_jobs_survive_a_redis_crash_and_restart(
    redis_server, job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    ids = [job_queue.submit(f"u{i}", "telegram", "c", make_song(1.0, i)).id for i in range(3)]
    redis_server.restart(kill=True)  # SIGKILL: only the append-only file remains
    connection = redis_server.client()
    assert Queue(keys.PREVIEW_QUEUE, connection=connection).job_ids == ids
    start_workers(1)
    queue = JobQueue(job_queue.settings)
    for job_id in ids:
        done = wait_for(lambda j=job_id: (r := queue.get(j)) and r.finished and r)
        assert done.status is JobStatus.DONE


def test_a_song_gone_from_storage_fails_at_once_with_a_refund_for_a_paid_job(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    record = job_queue.submit("u1", "telegram", "c1", make_song(1.0, 3), kind="full", order_id="order-4")
    job_queue.storage.delete(record.input_key)
    start_workers(1)
    failed = wait_for(lambda: (r := job_queue.get(record.id)) and r.finished and r)
    assert failed.status is JobStatus.FAILED and failed.error_code == "input_expired"
    assert failed.attempts == 1 and "send it again" in error_text(failed.error_code)
    (event,) = events_for(job_queue.connection, "telegram", record.id)
    assert event.type is EventType.FAILED and event.refund and event.order_id == "order-4"


def test_retry_after_a_host_crash_does_not_wait_for_the_dead_schedulers_lock(
    redis_server, job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    """Worker, its scheduler and Redis die together (a host crash); Redis comes back from its
    append-only file with the dead scheduler's lock and a fresh TTL. The new worker takes the
    lock over at once, so the interrupted job's retry runs long before that lock would expire."""
    record = job_queue.submit("u1", "telegram", "c1", make_song(60.0, 4), kind=JobKind.FULL)
    (victim,) = start_workers(1)
    wait_for(
        lambda: (r := job_queue.get(record.id)) and r.status is JobStatus.RUNNING and r.progress >= 10,
        what="job running",
        interval=0.02,
    )
    victim.stop()  # the worker and RQ's scheduler child, at once
    redis_server.restart(kill=True)
    connection = redis_server.client()
    lock = RQScheduler.get_locking_key(keys.FULL_QUEUE)
    dead_holder = connection.get(lock)
    assert dead_holder is not None  # restored from the append-only file ...
    stale_until = time.monotonic() + connection.ttl(lock)  # ... and it would block until then
    (rescuer,) = start_workers(1)
    queue = JobQueue(job_queue.settings)
    wait_for(lambda: (r := queue.get(record.id)) and r.attempts == 2, timeout=120, what="the retry to start")
    assert time.monotonic() < stale_until  # the retry did not wait for the dead holder's lock
    done = wait_for(lambda: (r := queue.get(record.id)) and r.finished and r, timeout=120)
    assert done.status is JobStatus.DONE and done.attempts == 2
    assert done.worker_pid == rescuer.pid
    holder = connection.get(lock)
    assert holder not in (None, dead_holder)
    assert client_name(holder.decode()) in {c["name"] for c in connection.client_list()}
