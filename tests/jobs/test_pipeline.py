"""A song goes in, a real worker separates it, events come out, stems are stored."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from rq.job import Job

from engine.activity import FRAME_S, LEAD_IN_S, first_vocal_entry
from engine.audio import decode
from engine.constants import SAMPLE_RATE
from engine.predict import load_model, separate
from jobs import EventType, JobKind, JobQueue, JobStatus, Settings, forget_user, sweep
from jobs.timeouts import PREVIEW_SCAN_S
from jobs.wait import HANDOVER_S
from tests.conftest import tone_song

from .conftest import events_for, wait_for


def test_preview_runs_to_done_with_progress_events_and_stems(
    job_queue: JobQueue, settings: Settings, start_workers: Callable, make_song: Callable
) -> None:
    (worker,) = start_workers(1)
    song = make_song(seconds=5.0, seed=1)
    record = job_queue.submit("u1", "telegram", "c1", song, kind="preview", filename="My Song.wav")
    assert record.status is JobStatus.QUEUED and not record.cached
    assert abs(record.duration_s - 5.0) < 0.05 and len(record.content_hash) == 64

    done = wait_for(lambda: (r := job_queue.get(record.id)) and r.finished and r, what="job end")
    assert done.status is JobStatus.DONE, done
    assert done.progress == 100 and done.attempts == 1
    # Ran inside the worker process itself: no fork per job (see jobs/worker.py).
    assert done.worker_pid == worker.pid
    assert set(done.outputs) == {"vocals", "instrumental", "waveform"}
    for name in ("vocals", "instrumental"):
        path = job_queue.output_path(record.id, name)
        assert path is not None and path.suffix == ".mp3"
        info = sf.info(str(path))
        assert abs(info.duration - settings.preview_length_s) < 0.1
    png = job_queue.output_path(record.id, "waveform")
    assert png is not None and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 0.0 <= (done.preview_start_s or 0.0) <= 5.0 - settings.preview_length_s

    # The job's own events (its key and tempo follow as another kind: tests/jobs/test_analysis.py).
    events = [e for e in events_for(job_queue.connection, "telegram", record.id) if e.kind == JobKind.PREVIEW]
    types = [e.type for e in events]
    assert types[-1] is EventType.DONE and types.count(EventType.DONE) == 1
    assert EventType.PROGRESS in types
    progress = [e.progress for e in events if e.type is EventType.PROGRESS]
    assert progress == sorted(progress)
    final = events[-1]
    assert (final.user_id, final.chat_id, final.kind) == ("u1", "c1", "preview")
    assert final.outputs == done.outputs and not final.refund
    assert Job.fetch(record.id, connection=job_queue.connection).meta["progress"] > 0
    # Today's figures: one preview done, and how long its person waited for it.
    # (The key-and-tempo job queued after the preview's DONE may still be running: wait for it.)
    wait_for(lambda: job_queue.stats().running == 0, what="the analysis after the preview")
    figures = job_queue.stats()
    assert figures.done == {"preview": 1, "full": 0} and figures.running == 0
    assert 0 < figures.mean_preview_latency_s <= done.finished_at - record.created_at + 0.01
    # The worker measured the preview it made: the expected wait of the next one is made of it.
    estimate = wait_for(
        lambda: (e := job_queue.expected_wait()).samples == 1 and e.running == 0 and e, what="the measurement"
    )
    assert estimate.workers == 1 and estimate.ahead == 0
    assert estimate.seconds == pytest.approx(estimate.preview_s + HANDOVER_S)
    assert done.finished_at - done.started_at <= estimate.preview_s <= time.time() - done.started_at


def test_full_job_separates_the_whole_song(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable, tmp_path: Path
) -> None:
    start_workers(1)
    song = make_song(seconds=3.0, seed=2)
    record = job_queue.submit("u1", "discord", "c9", song, kind=JobKind.FULL, output_format="flac")
    done = wait_for(lambda: (r := job_queue.get(record.id)) and r.finished and r)
    assert done.status is JobStatus.DONE
    vocals = job_queue.fetch_output(record.id, "vocals", tmp_path / "v.flac")
    data, rate = sf.read(vocals)
    assert rate == 44_100 and data.shape[1] == 2 and abs(len(data) / rate - 3.0) < 0.01


def test_paid_results_are_kept_until_delivered(
    job_queue: JobQueue, settings: Settings, start_workers: Callable, make_song: Callable
) -> None:
    start_workers(1)
    preview = job_queue.submit("u1", "telegram", "c1", make_song(2.0, seed=4))
    wait_for(lambda: (r := job_queue.get(preview.id)) and r.status is JobStatus.DONE)
    full = job_queue.submit_full(preview.id, "order-5")
    done = wait_for(lambda: (r := job_queue.get(full.id)) and r.finished and r)
    assert done.status is JobStatus.DONE and done.order_id == "order-5"
    (event,) = [e for e in events_for(job_queue.connection, "telegram", full.id) if e.type is EventType.DONE]
    assert event.order_id == "order-5" and not event.refund

    later = time.time() + settings.retention_s + 60
    report = sweep(job_queue.storage, job_queue.connection, settings.retention_s, now=later)
    kept = set(report.kept_pinned)
    assert kept == {preview.input_key, *done.outputs.values()}  # paid song and results
    assert set(job_queue.get(preview.id).outputs.values()) <= set(report.deleted)

    job_queue.mark_delivered(full.id)
    assert job_queue.get(full.id).delivered_at is not None
    assert sweep(job_queue.storage, job_queue.connection, settings.retention_s).deleted == []
    gone = sweep(job_queue.storage, job_queue.connection, settings.retention_s, now=later + 60)
    assert set(gone.deleted) == kept


def test_cancel_stops_a_running_job(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    start_workers(1)
    record = job_queue.submit("u1", "discord", "c1", make_song(60.0, seed=8), kind="full", order_id="order-3")
    wait_for(lambda: (r := job_queue.get(record.id)) and r.status is JobStatus.RUNNING, interval=0.02)
    assert job_queue.position(record.id) is None  # running: nothing ahead
    assert job_queue.cancel(record.id, user_id="u1")
    ended = wait_for(lambda: (r := job_queue.get(record.id)) and r.finished and r)
    assert ended.status is JobStatus.CANCELLED and ended.outputs == {}
    final = events_for(job_queue.connection, "discord", record.id)[-1]
    assert final.type is EventType.CANCELLED and final.refund and final.order_id == "order-3"
    assert not list(job_queue.storage.list("results/"))

    # A person who uses /forget while their song is being separated: the record is deleted at
    # once, and the worker, finding it gone, stops instead of storing results for nobody.
    second = job_queue.submit("u2", "discord", "c2", make_song(60.0, seed=9))
    wait_for(lambda: (r := job_queue.get(second.id)) and r.status is JobStatus.RUNNING, interval=0.02)
    assert second.id in forget_user(job_queue, "discord", "u2").deleted_records
    started = job_queue.queues[JobKind.PREVIEW].started_job_registry
    wait_for(lambda: started.count == 0, what="the worker to let go of the job")
    assert job_queue.get(second.id) is None
    assert not list(job_queue.storage.list(f"results/{second.id}/"))
    assert not list(job_queue.storage.list(f"inputs/{second.id}/"))


def test_preview_starts_where_the_voice_comes_in(
    job_queue: JobQueue,
    settings: Settings,
    start_workers: Callable,
    tiny_model: Path,
    tmp_path: Path,
) -> None:
    """The preview window starts at ``engine.activity.first_vocal_entry`` of the separated
    opening, not at the intro: 4 s of silence, then the song, so the model's vocal estimate
    (whatever model) enters at 4 s and the preview starts a lead-in before it."""
    start_workers(1)
    intro_s = 4.0
    mixture = np.concatenate([np.zeros((int(intro_s * SAMPLE_RATE), 2), np.float32), tone_song(4.0, seed=11)])
    path = tmp_path / "late entry.wav"
    sf.write(path, mixture, SAMPLE_RATE, subtype="PCM_16")
    record = job_queue.submit("u1", "telegram", "c1", path)
    done = wait_for(lambda: (r := job_queue.get(record.id)) and r.finished and r)
    assert done.status is JobStatus.DONE

    # What the worker computed, recomputed here with the same model on the same opening.
    audio = decode(path)
    opening = audio[:, : int(PREVIEW_SCAN_S * SAMPLE_RATE)]
    entry = first_vocal_entry(separate(opening, load_model(tiny_model, device="cpu")).vocals)
    expected = max(0.0, min(entry, done.duration_s - settings.preview_length_s))
    assert done.preview_start_s == pytest.approx(expected, abs=FRAME_S)
    assert done.preview_start_s == pytest.approx(intro_s - LEAD_IN_S, abs=2 * FRAME_S)
    # And the stored preview is that window: a second of lead-in, then the song.
    instrumental, rate = sf.read(job_queue.output_path(record.id, "instrumental"))
    assert abs(len(instrumental) / rate - settings.preview_length_s) < 0.1
    assert np.abs(instrumental[: int(0.9 * rate)]).max() < 1e-3
    assert np.abs(instrumental[int(1.1 * rate) :]).max() > 0.01
