"""Karaoke variants on a real worker: a preview's clip in a new key as an event, a paid full job
that renders its variant after separating (also for a song separated before), and an expired
preview reported, never dropped."""

from __future__ import annotations

from collections.abc import Callable

from engine.audio import decode
from engine.karaoke import KaraokeSettings
from jobs import EventType, JobQueue, JobStatus, Settings
from jobs.events import KARAOKE_KIND
from jobs.karaoke_jobs import EXPIRED_CODE
from jobs.records import JobKind
from jobs.timeouts import KARAOKE_TIMEOUT_BASE_S, job_timeout, karaoke_timeout
from tests.engine.test_karaoke import cents, pitch_hz

from .conftest import events_for, wait_for

UP_TWO = KaraokeSettings(semitones=2)


def _done_preview(job_queue: JobQueue, make_song: Callable, seed: int) -> str:
    preview = job_queue.submit("u1", "telegram", "c1", make_song(4.0, seed=seed))
    wait_for(lambda: (r := job_queue.get(preview.id)) and r.status is JobStatus.DONE)
    return preview.id


def _karaoke_events(job_queue: JobQueue, job_id: str) -> list:
    return [e for e in events_for(job_queue.connection, "telegram", job_id)
            if e.kind == KARAOKE_KIND]


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
    assert event.error_message and not event.refund


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
    (event,) = [e for e in events_for(job_queue.connection, "telegram", again.id)
                if e.type is EventType.DONE]
    assert event.order_id == "order-k2" and event.outputs == redone.outputs


def test_time_limits_grow_with_the_song(settings: Settings) -> None:
    assert karaoke_timeout(0) == KARAOKE_TIMEOUT_BASE_S
    assert karaoke_timeout(1200) > karaoke_timeout(240) > karaoke_timeout(30)
    # Measured 275 s for a 20-minute song on the contended CPU: the limit leaves room for it.
    assert karaoke_timeout(1200) >= 4 * 275
    plain = job_timeout(settings, 240, JobKind.FULL)
    assert job_timeout(settings, 240, JobKind.FULL, karaoke=True) == plain + karaoke_timeout(240)
