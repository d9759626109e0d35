"""The job API without a worker: bad files, limits, queue position, cancel, pins."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQStatus

from engine.errors import AudioError, NotAudioError
from engine.karaoke import KaraokeSettings
from jobs import (
    EventType,
    InputExpiredError,
    JobKind,
    JobNotFoundError,
    JobQueue,
    JobStatus,
    JobWait,
    Settings,
    UserLimitError,
    forget_user,
    keys,
)
from jobs.errors import BusyError
from jobs.retention import pin, pinned
from texts import text_of

from .conftest import events_for


def test_bad_file_is_refused_at_once_with_its_reason(job_queue: JobQueue, tmp_path: Path) -> None:
    notes = tmp_path / "notes.mp3"
    notes.write_text("these are my lyrics, not a song\n" * 20)
    with pytest.raises(NotAudioError) as refused:
        job_queue.submit("u1", "telegram", "c1", notes)
    assert "doesn't look like an audio file" in text_of(refused.value)
    with pytest.raises(AudioError):
        job_queue.submit("u1", "telegram", "c1", b"")
    # Nothing was queued, stored or counted against the person.
    assert Queue(keys.PREVIEW_QUEUE, connection=job_queue.connection).count == 0
    assert not list(job_queue.storage.list())
    assert job_queue.active_jobs("telegram", "u1") == []


def test_bytes_upload_and_ids_are_strings(job_queue: JobQueue, make_song: Callable) -> None:
    data = make_song(seconds=1.0, seed=3).read_bytes()
    record = job_queue.submit(42, "telegram", 4242, data, filename="voice note.wav")
    stored = job_queue.get(record.id)
    assert stored is not None and stored.user_id == "42" and stored.chat_id == "4242"
    # Stored under the job's id, never the person's file name (it would show in logs).
    assert stored.input_key == f"inputs/{record.id}/song.wav" and stored.filename == "voice note.wav"
    assert job_queue.storage.read_bytes(stored.input_key) == data
    with pytest.raises(ValueError):
        job_queue.submit(1, "Telegram!", 1, data)
    with pytest.raises(ValueError):
        job_queue.submit(1, "telegram", 1, data, output_format="ogg")


def test_per_user_limit_refuses_extra_jobs_but_never_a_paid_one(
    redis_server, tmp_path: Path, make_song: Callable
) -> None:
    queue = JobQueue(Settings(redis_url=redis_server.url, storage_dir=tmp_path / "s", max_jobs_per_user=2))
    for seed in range(2):
        queue.submit("u1", "telegram", "c1", make_song(1.0, seed))
    with pytest.raises(UserLimitError) as refused:
        queue.submit("u1", "telegram", "c1", make_song(1.0, 9))
    assert "2 songs in progress" in text_of(refused.value)
    queue.submit("u2", "telegram", "c2", make_song(1.0, 10))  # others are not affected
    paid = queue.submit("u1", "telegram", "c1", make_song(1.0, 11), kind="full", order_id="o-1")
    assert len(queue.active_jobs("telegram", "u1")) == 3
    assert queue.cancel(paid.id)  # a cancelled job frees its slot at once
    assert len(queue.active_jobs("telegram", "u1")) == 2


def test_position_counts_previews_first_and_cancel_frees_the_slot(
    job_queue: JobQueue, make_song: Callable
) -> None:
    a = job_queue.submit("ua", "telegram", "ca", make_song(1.0, 1))
    b = job_queue.submit("ub", "telegram", "cb", make_song(1.0, 2))
    full = job_queue.submit("uc", "discord", "cc", make_song(1.0, 3), kind="full")
    c = job_queue.submit("ud", "telegram", "cd", make_song(1.0, 4))
    assert [job_queue.position(j.id) for j in (a, b, c)] == [0, 1, 2]
    assert job_queue.position(full.id) == 3  # every queued preview goes first
    # A second job of the same person waits for their first (per-user concurrency 1).
    a2 = job_queue.submit("ua", "telegram", "ca", make_song(1.0, 5))
    assert Job.fetch(a2.id, connection=job_queue.connection).get_status() == RQStatus.RATE_LIMITED
    assert job_queue.position(a2.id) == 4

    assert not job_queue.cancel(b.id, user_id="someone-else")
    assert job_queue.cancel(b.id, user_id="ub")
    assert not job_queue.cancel(b.id)  # already ended
    cancelled = job_queue.get(b.id)
    assert cancelled is not None and cancelled.status is JobStatus.CANCELLED
    assert job_queue.position(b.id) is None
    assert job_queue.position(c.id) == 1
    assert job_queue.active_jobs("telegram", "ub") == []
    (event,) = events_for(job_queue.connection, "telegram", b.id)
    assert event.type is EventType.CANCELLED and not event.refund
    assert Job.fetch(b.id, connection=job_queue.connection).get_status() == RQStatus.CANCELED

    # Cancelling the first job of ua lets the waiting one into the queue.
    assert job_queue.cancel(a.id)
    assert Job.fetch(a2.id, connection=job_queue.connection).get_status() == RQStatus.QUEUED
    # Each cancelled job counted once (the refused second cancel of b added nothing).
    figures = job_queue.stats()
    assert figures.cancelled == {"preview": 2, "full": 0}
    assert figures.waiting["preview"] == job_queue.queues[JobKind.PREVIEW].count >= 1


def test_paid_cancel_asks_for_a_refund_and_unpins_the_song(job_queue: JobQueue, make_song: Callable) -> None:
    record = job_queue.submit("u1", "telegram", "c1", make_song(1.0, 1), kind="full", order_id="order-7")
    assert pinned(job_queue.connection) == {record.input_key: {"order-7"}}
    assert job_queue.cancel(record.id)
    (event,) = events_for(job_queue.connection, "telegram", record.id)
    assert event.type is EventType.CANCELLED and event.refund and event.order_id == "order-7"
    assert pinned(job_queue.connection) == {}


def test_submit_full_reuses_the_stored_song_and_needs_it(job_queue: JobQueue, make_song: Callable) -> None:
    preview = job_queue.submit("u1", "telegram", "c1", make_song(1.0, 1))
    full = job_queue.submit_full(preview.id, "order-1", output_format="wav")
    assert full.kind is JobKind.FULL and full.input_key == preview.input_key
    assert full.source_job_id == preview.id and full.order_id == "order-1"
    assert full.content_hash == preview.content_hash and full.output_format == "wav"
    assert pinned(job_queue.connection) == {preview.input_key: {"order-1"}}
    with pytest.raises(JobNotFoundError):
        job_queue.submit_full("nope", "order-2")
    job_queue.storage.delete(preview.input_key)
    with pytest.raises(InputExpiredError) as gone:
        job_queue.submit_full(preview.id, "order-3")
    assert "send it again" in text_of(gone.value)


def test_keep_song_restarts_the_retention_clock_of_a_song_about_to_be_bought(
    job_queue: JobQueue, settings: Settings, make_song: Callable
) -> None:
    preview = job_queue.submit("u1", "telegram", "c1", make_song(1.0, 2))
    path = job_queue.storage.local_path(preview.input_key)
    old = time.time() - settings.retention_s + 30  # half a minute before the sweep takes it
    os.utime(path, (old, old))
    assert job_queue.keep_song(preview.id) == settings.retention_s
    assert path.stat().st_mtime > time.time() - 5
    job_queue.storage.delete(preview.input_key)
    with pytest.raises(InputExpiredError):
        job_queue.keep_song(preview.id)
    with pytest.raises(JobNotFoundError):
        job_queue.keep_song("nope")


def test_forget_user_deletes_their_records_jobs_and_files_but_not_others_or_paid_ones(
    job_queue: JobQueue, make_song: Callable
) -> None:
    queue = job_queue
    first = queue.submit("u1", "telegram", "c1", make_song(1.0, 1), filename="My Song.wav")
    waiting = queue.submit("u1", "telegram", "c1", make_song(1.0, 2))
    paid_waiting = queue.submit("u1", "telegram", "c1", make_song(1.0, 3), kind="full", order_id="o-8")
    paid_done = queue.submit("u1", "telegram", "c1", make_song(1.0, 6), kind="full", order_id="o-9")
    other = queue.submit("u2", "telegram", "c2", make_song(1.0, 4))
    same_id_elsewhere = queue.submit("u1", "discord", "d1", make_song(1.0, 5))
    # As if two had finished: results stored under their ids; one of them paid, not delivered.
    for job in (first, paid_done):
        queue.storage.put_bytes(f"results/{job.id}/vocals.mp3", b"ID3 vocals")
        queue.records.update(job.id, status="done", outputs={"vocals": f"results/{job.id}/vocals.mp3"})
    queue.pin(paid_done.id, "o-9")
    # Someone else's paid order pins a result this person's job made (the cache shared it).
    queue.storage.put_bytes(f"results/{first.id}/instrumental.mp3", b"ID3 inst")
    pin(queue.connection, [f"results/{first.id}/instrumental.mp3"], "o-other")

    report = forget_user(queue, "telegram", "u1")

    assert sorted(report.deleted_records) == sorted([first.id, waiting.id, paid_waiting.id])
    for job in (first, waiting, paid_waiting):
        assert queue.get(job.id) is None
        with pytest.raises(NoSuchJobError):
            Job.fetch(job.id, connection=queue.connection)
        assert not queue.storage.exists(job.input_key)
    assert not queue.storage.exists(f"results/{first.id}/vocals.mp3")
    # The paid job that was waiting was cancelled first: its refund event is out, and stays.
    assert events_for(queue.connection, "telegram", paid_waiting.id)[-1].refund
    # Their other events (the cancel of the preview in line: it carries their id) are gone.
    assert events_for(queue.connection, "telegram", waiting.id) == []
    # Kept: the undelivered paid result (its order needs it), and another order's pin.
    assert report.kept_jobs == [paid_done.id]
    assert queue.get(paid_done.id) is not None
    assert queue.storage.exists(f"results/{paid_done.id}/vocals.mp3")
    assert report.kept_pinned == [f"results/{first.id}/instrumental.mp3"]
    assert queue.active_jobs("telegram", "u1") == []
    assert queue.connection.smembers(keys.user_jobs("telegram", "u1")) == {paid_done.id.encode()}
    # Nobody else's jobs, nor the same id on another platform.
    for job in (other, same_id_elsewhere):
        assert queue.get(job.id) is not None and queue.storage.exists(job.input_key)
    assert Queue(keys.PREVIEW_QUEUE, connection=queue.connection).job_ids == [
        other.id,
        same_id_elsewhere.id,
    ]


def test_previews_are_admitted_by_expected_wait_but_paid_jobs_never_refused(
    redis_server, tmp_path: Path, make_song: Callable
) -> None:
    # No worker has measured a preview yet: 10 s each is assumed; 25 s is the bound.
    queue = JobQueue(
        Settings(
            redis_url=redis_server.url,
            storage_dir=tmp_path / "s",
            max_preview_wait_s=25.0,
            preview_estimate_s=10.0,
        )
    )
    placed = []
    for seed in range(2):
        record = queue.submit(f"u{seed}", "telegram", "c", make_song(1.0, seed))
        placed.append(queue.wait(record.id))
    assert placed == [JobWait(1, 12.0), JobWait(2, 22.0)]  # place, seconds until in the chat
    with pytest.raises(BusyError) as busy:
        queue.submit("u9", "telegram", "c9", make_song(1.0, 9))
    said = text_of(busy.value)
    assert "busy" in said and "2 songs are waiting" in said and "about 35 seconds" in said
    assert queue.active_jobs("telegram", "u9") == []  # nothing kept of the refused upload
    with pytest.raises(BusyError):
        queue.check_capacity()  # what a bot asks before downloading anything
    paid = queue.submit("u9", "telegram", "c9", make_song(1.0, 10), kind="full", order_id="o-9")
    assert paid.status is JobStatus.QUEUED
    # The wait is per live worker: with two, what waits ahead is cleared twice as fast.
    for name in ("w1", "w2"):
        Worker(
            [Queue("preview", connection=queue.connection)], name=name, connection=queue.connection
        ).register_birth()
    queue.check_capacity()
    queue.submit("u8", "telegram", "c8", make_song(1.0, 8))


PERSON = "4155550123"  # a platform id no job id, timestamp or counter will spell by chance
SONG_NAME = "Private Diary Song"


def _redis_values(connection, key: bytes) -> list[bytes]:
    """What one Redis key holds, as bytes (streams excluded: events age out, EVENTS_MAXLEN)."""
    kind = connection.type(key)
    if kind == b"hash":
        return [*connection.hkeys(key), *connection.hvals(key)]
    if kind == b"set":
        return list(connection.smembers(key))
    if kind == b"zset":
        return connection.zrange(key, 0, -1)
    if kind == b"list":
        return connection.lrange(key, 0, -1)
    if kind == b"string":
        return [connection.get(key) or b""]
    return []


def test_rq_jobs_name_no_person_or_file_and_forget_leaves_nothing_keyed_by_the_person(
    job_queue: JobQueue, make_song: Callable
) -> None:
    """Issue 21, defect 8: RQ's job descriptions (which RQ logs and the dashboard shows) name no
    person and no file, karaoke renders included; and /forget removes everything in Redis keyed
    by the person, RQ's per-person rate-limit keys among them."""
    queue = job_queue
    song = make_song(1.0, 31, name=f"{SONG_NAME}.wav")
    preview = queue.submit(PERSON, "telegram", PERSON, song, filename=f"{SONG_NAME}.wav")
    full = queue.submit(
        PERSON,
        "telegram",
        PERSON,
        make_song(1.0, 32),
        kind="full",
        order_id="o-forget",
        filename=f"{SONG_NAME}.wav",
    )
    queue.storage.put_bytes(f"results/{preview.id}/instrumental.mp3", b"ID3 inst")
    queue.records.update(
        preview.id, status="done", outputs={"instrumental": f"results/{preview.id}/instrumental.mp3"}
    )
    assert queue.render_karaoke(preview.id, KaraokeSettings(semitones=-2))  # id has a dash
    rq_ids = [
        preview.id,
        full.id,
        *(
            key.decode().removeprefix("rq:job:")
            for key in queue.connection.scan_iter(match=f"rq:job:karaoke-{preview.id}-*")
        ),
    ]
    assert len(rq_ids) == 3
    for rq_id in rq_ids:
        job = Job.fetch(rq_id, connection=queue.connection)
        told = f"{job.description} {job.meta}"
        assert PERSON not in told and SONG_NAME not in told, told
    assert queue.connection.exists(f"rq:rl:{keys.user_rate_limit('telegram', PERSON)}")

    # The paid job ended (refunded, say): nothing in flight, so payments lets /forget run.
    queue.cancel(full.id)
    forget_user(queue, "telegram", PERSON)

    # The person's jobs are gone from RQ, karaoke renders of their previews included.
    for rq_id in rq_ids:
        with pytest.raises(NoSuchJobError):
            Job.fetch(rq_id, connection=queue.connection)
    for key in queue.connection.scan_iter():
        assert PERSON.encode() not in key, key
        if queue.connection.type(key) == b"stream":
            continue
        for value in _redis_values(queue.connection, key):
            assert PERSON.encode() not in value and SONG_NAME.encode() not in value, (key, value)
