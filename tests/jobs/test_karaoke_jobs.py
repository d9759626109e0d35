"""Karaoke variants on a real worker: a preview's clip in a new key as an event, a paid full job
that renders its variant after separating (also for a song separated before), and an expired
preview reported, never dropped."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from rq import Queue

from engine.audio import decode
from engine.karaoke import KaraokeSettings
from jobs import (
    BusyError,
    EventType,
    JobQueue,
    JobRecord,
    JobStatus,
    Settings,
    forget_user,
    karaoke_jobs,
    keys,
    stats,
    sweep,
)
from jobs.errors import KaraokeInFlightError, KaraokeQuotaError
from jobs.events import KARAOKE_KIND
from jobs.karaoke_jobs import EXPIRED_CODE
from jobs.records import JobKind
from jobs.retention import pinned
from jobs.timeouts import KARAOKE_TIMEOUT_BASE_S, job_timeout, karaoke_timeout
from service.pseudonyms import abuse_mark
from tests.engine.test_karaoke import cents, pitch_hz
from texts import error_text, text_of

from .conftest import events_for, wait_for

UP_TWO = KaraokeSettings(semitones=2)


def _done_preview(job_queue: JobQueue, make_song: Callable, seed: int) -> str:
    preview = job_queue.submit("u1", "telegram", "c1", make_song(4.0, seed=seed))
    wait_for(lambda: (r := job_queue.get(preview.id)) and r.status is JobStatus.DONE)
    return preview.id


def _karaoke_events(job_queue: JobQueue, job_id: str) -> list:
    return [e for e in events_for(job_queue.connection, "telegram", job_id) if e.kind == KARAOKE_KIND]


def test_preview_clip_in_a_new_key_arrives_as_an_event(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    start_workers(1)
    job_id = _done_preview(job_queue, make_song, seed=11)
    assert job_queue.render_karaoke(job_id, UP_TWO)
    (event,) = wait_for(lambda: _karaoke_events(job_queue, job_id), what="karaoke event")
    assert event.type is EventType.DONE and event.karaoke == "goff.k2.t100"
    assert (event.user_id, event.chat_id, event.order_id) == ("u1", "c1", None)
    stem = job_queue.storage.local_path(job_queue.get(job_id).outputs["instrumental"])
    variant = job_queue.storage.local_path(event.outputs["karaoke"])
    shift = cents(pitch_hz(decode(variant)), pitch_hz(decode(stem)))
    assert abs(shift - 200) < 15
    # The same settings again: rendered once, answered from storage, a second event.
    assert job_queue.render_karaoke(job_id, UP_TWO)
    wait_for(lambda: len(_karaoke_events(job_queue, job_id)) == 2, what="second event")


def test_expired_preview_is_reported_not_dropped(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    start_workers(1)
    job_id = _done_preview(job_queue, make_song, seed=12)
    for key in job_queue.get(job_id).outputs.values():
        job_queue.storage.delete(key)
    job_queue.render_karaoke(job_id, UP_TWO)
    (event,) = wait_for(lambda: _karaoke_events(job_queue, job_id), what="karaoke event")
    assert event.type is EventType.FAILED and event.error_code == EXPIRED_CODE
    assert error_text(event.error_code) and not event.refund


def test_paid_job_renders_its_variant_after_separating(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    start_workers(1)
    job_id = _done_preview(job_queue, make_song, seed=13)
    full = job_queue.submit_full(job_id, "order-k", karaoke="g12.k-3.t100")
    done = wait_for(lambda: (r := job_queue.get(full.id)) and r.finished and r)
    assert done.status is JobStatus.DONE and done.karaoke == "g12.k-3.t100"
    assert done.outputs["karaoke"] == f"results/{full.id}/karaoke-g12.k-3.t100.mp3"
    variant = decode(job_queue.storage.local_path(done.outputs["karaoke"]))
    stem = decode(job_queue.storage.local_path(done.outputs["instrumental"]))
    assert abs(variant.shape[1] - stem.shape[1]) < 0.05 * stem.shape[1]

    # The same song bought again in another key: the stored stems answer, only the render runs.
    again = job_queue.submit_full(job_id, "order-k2", karaoke="goff.k1.t100")
    assert again.cached and again.source_job_id == full.id
    redone = wait_for(lambda: (r := job_queue.get(again.id)) and r.finished and r)
    assert redone.status is JobStatus.DONE
    assert redone.outputs["instrumental"] == done.outputs["instrumental"]
    assert redone.outputs["karaoke"] == f"results/{again.id}/karaoke-goff.k1.t100.mp3"
    (event,) = [e for e in events_for(job_queue.connection, "telegram", again.id) if e.type is EventType.DONE]
    assert event.order_id == "order-k2" and event.outputs == redone.outputs


def test_time_limits_grow_with_the_song(settings: Settings) -> None:
    assert karaoke_timeout(0) == KARAOKE_TIMEOUT_BASE_S
    assert karaoke_timeout(1200) > karaoke_timeout(240) > karaoke_timeout(30)
    # Measured 275 s for a 20-minute song on the contended CPU: the limit leaves room for it.
    assert karaoke_timeout(1200) >= 4 * 275
    plain = job_timeout(settings, 240, JobKind.FULL)
    assert job_timeout(settings, 240, JobKind.FULL, karaoke=True) == plain + karaoke_timeout(240)


# ------------------------------------------------------------------ issue 21, defect 9


def _separated_song(job_queue: JobQueue, make_song: Callable, seed: int) -> tuple[str, JobRecord]:
    """A preview and its song's full stems, separated for a first order and delivered."""
    preview_id = _done_preview(job_queue, make_song, seed=seed)
    first = job_queue.submit_full(preview_id, "order-first")
    done = wait_for(lambda: (r := job_queue.get(first.id)) and r.finished and r)
    assert done.status is JobStatus.DONE
    job_queue.mark_delivered(first.id)
    return preview_id, done


def _pinned_by(job_queue: JobQueue, order_id: str) -> list[str]:
    return sorted(key for key, orders in pinned(job_queue.connection).items() if order_id in orders)


def test_a_failed_paid_karaoke_job_lets_the_reused_stems_go(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable, settings: Settings
) -> None:
    start_workers(1)
    preview_id, first = _separated_song(job_queue, make_song, seed=14)
    # The stored instrumental no longer decodes: the render fails for good, the order refunds.
    job_queue.storage.local_path(first.outputs["instrumental"]).write_bytes(b"not audio")
    again = job_queue.submit_full(preview_id, "order-k3", karaoke="goff.k1.t100")
    assert again.cached and again.source_job_id == first.id
    failed = wait_for(lambda: (r := job_queue.get(again.id)) and r.finished and r)
    assert failed.status is JobStatus.FAILED
    (event,) = [
        e for e in events_for(job_queue.connection, "telegram", again.id) if e.type is EventType.FAILED
    ]
    assert event.refund and event.order_id == "order-k3"

    assert _pinned_by(job_queue, "order-k3") == []
    report = sweep(
        job_queue.storage, job_queue.connection, settings.retention_s, now=time.time() + 30 * 86400
    )
    assert set(first.outputs.values()) <= set(report.deleted)


def test_a_cancelled_paid_karaoke_job_lets_the_reused_stems_go(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    (worker,) = start_workers(1)
    preview_id, first = _separated_song(job_queue, make_song, seed=15)
    worker.stop()  # nothing runs the next job: it is cancelled while it waits
    again = job_queue.submit_full(preview_id, "order-k4", karaoke="goff.k-1.t100")
    assert again.cached
    assert _pinned_by(job_queue, "order-k4")  # the reused stems are kept while it waits
    assert job_queue.cancel(again.id)
    assert job_queue.get(again.id).status is JobStatus.CANCELLED
    assert _pinned_by(job_queue, "order-k4") == []
    report = forget_user(job_queue, "telegram", "u1")
    assert report.kept_pinned == []
    assert set(first.outputs.values()) <= set(report.deleted_files)


# ------------------------------------------------------------------ issue 21, defect 4


def test_renders_wait_behind_paid_full_jobs(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    (worker,) = start_workers(1)
    preview_id = _done_preview(job_queue, make_song, seed=16)
    worker.stop()
    assert job_queue.render_karaoke(preview_id, UP_TWO)  # asked first ...
    full = job_queue.submit_full(preview_id, "order-paid")  # ... but the paid song goes first
    start_workers(1)
    (event,) = wait_for(lambda: _karaoke_events(job_queue, preview_id), what="karaoke event")
    done = wait_for(lambda: (r := job_queue.get(full.id)) and r.finished and r)
    assert done.status is JobStatus.DONE and event.type is EventType.DONE
    assert done.finished_at < event.ts


def test_renders_have_one_in_flight_per_person_a_daily_allowance_and_back_pressure(
    settings: Settings, start_workers: Callable, make_song: Callable
) -> None:
    queue = JobQueue(
        settings.with_overrides(karaoke_renders_per_day=2, max_preview_wait_s=25.0, preview_estimate_s=10.0)
    )
    (worker,) = start_workers(1)
    mine = _done_preview(queue, make_song, seed=17)
    theirs = queue.submit("u2", "telegram", "c2", make_song(4.0, seed=18))
    wait_for(lambda: (r := queue.get(theirs.id)) and r.status is JobStatus.DONE)
    # Killed idle (its key lives on a while: a worker killed mid-job would count as busy).
    analysis = Queue(keys.ANALYSIS_QUEUE, connection=queue.connection)
    wait_for(lambda: queue.expected_wait().running == 0 and analysis.count == 0, what="the worker idle")
    worker.stop()
    queue.connection.delete(keys.PREVIEW_TIME)  # as before any preview was measured: 10 s each

    assert queue.render_karaoke(mine, UP_TWO)
    assert not queue.render_karaoke(mine, UP_TWO)  # the same render: already in line
    with pytest.raises(KaraokeInFlightError) as one:
        queue.render_karaoke(mine, KaraokeSettings(semitones=-1))
    assert text_of(one.value)
    assert queue.render_karaoke(theirs.id, UP_TWO)  # someone else's is theirs
    # Two renders wait: a third would be ready in (2 + 1) × 10 s, past the 25 s bound, and is
    # refused as a preview would be.
    third = queue.submit("u3", "telegram", "c3", make_song(4.0, seed=17))  # from the cache
    assert third.cached
    with pytest.raises(BusyError):
        queue.render_karaoke(third.id, UP_TWO)

    start_workers(1)
    wait_for(lambda: _karaoke_events(queue, mine), what="the first render")
    assert queue.render_karaoke(mine, KaraokeSettings(semitones=-1))  # the slot is free again
    wait_for(lambda: len(_karaoke_events(queue, mine)) == 2, what="the second render")
    with pytest.raises(KaraokeQuotaError) as quota:
        queue.render_karaoke(mine, KaraokeSettings(semitones=3))
    assert quota.value.per_day == 2


def test_forget_deletes_the_render_slot_and_events_but_keeps_the_days_count_under_a_mark(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    """Issue 21, defects 4, 7 and 8 together: the render allowance is an abuse limit, so it
    outlives /forget, under the person's keyed HMAC only; the slot and the events go with the
    rest, and a render that read the record before /forget and ends after it says nothing."""
    (worker,) = start_workers(1)
    mine = _done_preview(job_queue, make_song, seed=19)
    theirs = job_queue.submit("u2", "telegram", "c2", make_song(4.0, seed=20))
    wait_for(lambda: (r := job_queue.get(theirs.id)) and r.status is JobStatus.DONE)
    worker.stop()
    record = job_queue.get(mine)
    assert job_queue.render_karaoke(mine, UP_TWO)  # in line: the slot is taken, one counted
    connection = job_queue.connection
    count = keys.karaoke_renders(stats.day(), abuse_mark(job_queue.settings.abuse_key, "telegram", "u1"))
    assert connection.get(count) == b"1" and connection.exists(keys.karaoke_slot("telegram", "u1"))
    assert not any(b"u1" in key for key in connection.scan_iter(match="vr:karaoke-renders:*"))

    forget_user(job_queue, "telegram", "u1")
    assert not connection.exists(keys.karaoke_slot("telegram", "u1"))
    assert connection.get(count) == b"1"  # still today's
    assert events_for(connection, "telegram", mine) == []
    assert events_for(connection, "telegram", theirs.id)  # someone else's stay
    karaoke_jobs._publish(connection, job_queue.settings, record, UP_TWO.to_string(), EventType.DONE)
    assert events_for(connection, "telegram", mine) == []
