"""Same song, same model: answered from stored results without a job."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable

import pytest
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

from jobs import EventType, JobQueue, JobStatus, Settings, cache, keys, lifecycle
from jobs.records import JobKind, JobRecord
from jobs.retention import pinned

from .conftest import events_for, wait_for


def test_same_song_is_answered_from_the_cache_without_a_job(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    start_workers(1)
    wav = make_song(2.0, seed=5)
    first = job_queue.submit("u1", "telegram", "c1", wav)
    wait_for(lambda: (r := job_queue.get(first.id)) and r.status is JobStatus.DONE)
    original = job_queue.get(first.id)
    assert original is not None

    # Another person sends the same song as FLAC under another name: same decoded audio.
    flac = wav.with_name("other name.flac")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(wav), str(flac)], check=True)
    events_before = len(job_queue.connection.xrange(keys.events("discord")))
    hit = job_queue.submit("u2", "discord", "c2", flac)
    assert hit.cached and hit.status is JobStatus.DONE and hit.id != first.id
    assert hit.outputs == original.outputs and hit.source_job_id == first.id
    assert hit.content_hash == original.content_hash and hit.user_id == "u2"
    figures = job_queue.stats()
    assert (figures.done["preview"], figures.cached) == (1, 1)  # one job ran; two people served
    assert job_queue.get(hit.id) == hit  # a record the bot can look up later
    with pytest.raises(NoSuchJobError):
        Job.fetch(hit.id, connection=job_queue.connection)  # no RQ job was made
    assert Queue(keys.PREVIEW_QUEUE, connection=job_queue.connection).count == 0
    assert len(job_queue.connection.xrange(keys.events("discord"))) == events_before
    assert job_queue.active_jobs("discord", "u2") == []
    # u1 buys the full song (a job runs).
    bought = job_queue.submit_full(first.id, "order-u1")
    wait_for(lambda: (r := job_queue.get(bought.id)) and r.status is JobStatus.DONE)
    job_queue.mark_delivered(bought.id)
    # u2's own copy of the song is stored: it outlives u1's upload, so u2 can still buy. The
    # cache answers u2's purchase — and, paid, it is announced like every paid result, so the
    # bot delivers it the usual way.
    assert hit.input_key != first.input_key and hit.input_key.startswith(f"inputs/{hit.id}/")
    job_queue.storage.delete(first.input_key)
    assert job_queue.storage.exists(hit.input_key)
    paid_hit = job_queue.submit_full(hit.id, "order-u2")
    assert paid_hit.cached and paid_hit.status is JobStatus.DONE
    assert paid_hit.input_key == hit.input_key and paid_hit.source_job_id == hit.id
    (done,) = [e for e in events_for(job_queue.connection, "discord", paid_hit.id)]
    assert done.type is EventType.DONE and done.order_id == "order-u2"
    assert (done.user_id, done.chat_id) == ("u2", "c2") and done.outputs == paid_hit.outputs
    assert all(
        "order-u2" in orders
        for key, orders in pinned(job_queue.connection).items()
        if key in paid_hit.outputs.values()
    )

    # Another output format, another kind or another model version is a new job.
    assert not job_queue.submit("u3", "telegram", "c3", wav, output_format="wav").cached
    assert not job_queue.submit("u3", "telegram", "c3", wav, kind="full", output_format="flac").cached
    job_queue.connection.set(keys.MODEL_VERSION, "unet-retrained")
    assert not job_queue.submit("u4", "telegram", "c4", wav).cached


def test_cache_entry_whose_files_expired_runs_the_job_again(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    start_workers(1)
    wav = make_song(1.0, seed=6)
    first = job_queue.submit("u1", "telegram", "c1", wav)
    done = wait_for(lambda: (r := job_queue.get(first.id)) and r.status is JobStatus.DONE and r)
    job_queue.storage.delete(done.outputs["vocals"])  # retention got there first
    again = job_queue.submit("u1", "telegram", "c1", wav)
    assert not again.cached and again.status is JobStatus.QUEUED
    redone = wait_for(lambda: (r := job_queue.get(again.id)) and r.finished and r)
    assert redone.status is JobStatus.DONE and job_queue.storage.exists(redone.outputs["vocals"])


def test_a_job_is_remembered_with_its_end(job_queue: JobQueue, settings: Settings) -> None:
    """The cache entry is written by the same script as the end: whoever sees a job done (its
    record or its event) is answered from the cache at once; a job that had already ended
    (cancelled meanwhile) points the cache at nothing."""
    connection, maxlen = job_queue.connection, settings.events_maxlen

    def record(song_hash: str) -> JobRecord:
        job = JobRecord(
            id=uuid.uuid4().hex,
            user_id="u1",
            platform="telegram",
            chat_id="c1",
            kind=JobKind.PREVIEW,
            output_format="mp3",
            input_key="inputs/x/song.wav",
            content_hash=song_hash,
            model_version="unet-test",
        )
        job_queue.records.register(job)
        return job

    done = record("hash-done")
    key, ttl = cache.entry_for(settings, done)
    assert lifecycle.finish(connection, done, JobStatus.DONE, maxlen, outputs={}, cache_entry=(key, ttl))
    assert job_queue.get(done.id).status is JobStatus.DONE
    assert cache.lookup(connection, settings, JobKind.PREVIEW, "mp3", "hash-done", "unet-test") == done.id
    assert 0 < connection.ttl(key) <= ttl

    late = record("hash-late")
    assert lifecycle.finish(connection, late, JobStatus.CANCELLED, maxlen)
    entry = cache.entry_for(settings, late)
    assert not lifecycle.finish(connection, late, JobStatus.DONE, maxlen, cache_entry=entry)
    assert cache.lookup(connection, settings, JobKind.PREVIEW, "mp3", "hash-late", "unet-test") is None
    with pytest.raises(ValueError):
        lifecycle.finish(connection, record("hash-failed"), JobStatus.FAILED, maxlen, cache_entry=entry)
