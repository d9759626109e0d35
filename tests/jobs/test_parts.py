"""The parts ``JobQueue`` is composed of, each built alone on a real redis-server (no façade):
the record store, the line, the admission by expected wait and the pins of paid results."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from rq import Queue, Worker

from jobs import JobQueue, keys, retention, wait
from jobs.capacity import Capacity
from jobs.delivery import Delivery
from jobs.errors import BusyError, JobNotFoundError, UserLimitError
from jobs.line import Line
from jobs.records import JobKind, JobRecord, JobStatus, RecordStore
from jobs.settings import Settings
from jobs.storage import LocalStorage
from jobs.wait import HANDOVER_S
from testbed.redis_server import RedisServer
from texts import text_of


def _record(user_id: str = "u1", order_id: str | None = None) -> JobRecord:
    job_id = uuid.uuid4().hex
    return JobRecord(
        id=job_id,
        user_id=user_id,
        platform="telegram",
        chat_id=user_id,
        kind=JobKind.PREVIEW,
        output_format="mp3",
        input_key=f"inputs/{job_id}/song.wav",
        filename="song.wav",
        order_id=order_id,
    )


@pytest.fixture
def connection(redis_server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(redis_server.url)


@pytest.fixture
def part_settings(redis_server: RedisServer, tmp_path: Path) -> Settings:
    return Settings(
        redis_url=redis_server.url,
        storage_dir=tmp_path / "s",
        max_jobs_per_user=2,
        max_preview_wait_s=25.0,
        preview_estimate_s=10.0,
    )


def test_record_store_lists_every_registered_record_under_its_person(
    connection: redis.Redis,
) -> None:
    store = RecordStore(connection, ttl_s=60)
    record = _record()
    store.register(record)
    assert store.require(record.id).filename == "song.wav"
    index = keys.user_jobs("telegram", "u1")
    assert connection.smembers(index) == {record.id.encode()}
    assert 0 < connection.ttl(index) <= 60
    store.unregister(record)
    assert store.get(record.id) is None and connection.smembers(index) == set()
    with pytest.raises(JobNotFoundError):
        store.require(record.id)


def test_line_alone_holds_the_per_user_slots(
    connection: redis.Redis, part_settings: Settings, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "s")
    records = RecordStore(connection, part_settings.record_ttl_s)
    queues = {kind: Queue(str(kind), connection=connection) for kind in JobKind}
    delivery = Delivery(connection, part_settings, storage, records)
    line = Line(connection, part_settings, storage, records, queues, delivery)
    first, second = _record(), _record()
    line.reserve(first)
    line.reserve(second)
    refused = _record()
    with pytest.raises(UserLimitError):
        line.reserve(refused)
    assert records.get(refused.id) is None  # a refusal leaves no record behind
    assert refused.id.encode() not in connection.smembers(keys.user_jobs("telegram", "u1"))
    paid = _record(order_id="o-1")
    line.reserve(paid)  # a paid job always gets in
    assert [r.id for r in line.active_jobs("telegram", "u1")] == sorted(
        [first.id, second.id, paid.id], key=lambda i: records.require(i).created_at
    )
    line.abandon(paid, delete_input=False)
    assert records.get(paid.id) is None
    assert paid.id.encode() not in connection.smembers(keys.user_active("telegram", "u1"))
    with pytest.raises(UserLimitError):
        line.reserve(_record())
    records.update(first.id, status=JobStatus.DONE)  # an ended job frees its slot
    line.reserve(_record())


def test_capacity_alone_admits_by_expected_wait_and_takes_the_place_in_one_step(
    connection: redis.Redis, part_settings: Settings
) -> None:
    previews = Queue("preview-test", connection=connection)
    renders = Queue("karaoke-test", connection=connection)
    capacity = Capacity(connection, part_settings, previews, renders)
    # Cold start, no worker alive (counted as one): a preview is assumed to take 10 s; bound 25 s.
    first = capacity.check_previews()
    assert (first.ahead, first.workers, first.samples, first.seconds) == (0, 0, 0, 10.0 + HANDOVER_S)
    previews.enqueue_call("builtins.print", args=(0,))
    assert capacity.admit_preview("job-b").seconds == 22.0  # (1 ahead / 1 + 1) × 10 s + 2 s
    # job-b's place is taken though it is not in the queue yet: the next decision counts it.
    with pytest.raises(BusyError) as busy:
        capacity.admit_preview("job-c")
    assert busy.value.params == {"waiting": 2, "wait_s": 32}
    assert "2 songs are waiting" in text_of(busy.value) and "about 35 seconds" in text_of(busy.value)
    capacity.release("job-b")  # enqueued (or given up): from here the queue counts it
    assert capacity.estimate().ahead == 1
    renders.enqueue_call("builtins.print", args=("render",))
    with pytest.raises(BusyError):
        capacity.check_renders()  # behind the preview and the render: 32 s
    capacity.check_previews()  # renders do not wait ahead of previews
    for name in ("w1", "w2"):  # two workers alive take what is ahead two at a time
        Worker([previews], name=name, connection=connection).register_birth()
    assert (capacity.estimate().workers, capacity.estimate().seconds) == (2, 17.0)
    # The workers' own measurements replace the assumption, as a moving average.
    wait.record_preview(connection, 4.0)
    assert (capacity.estimate().preview_s, capacity.estimate().samples) == (4.0, 1)
    wait.record_preview(connection, 9.0)
    assert capacity.estimate().preview_s == pytest.approx(4.0 + wait.EWMA_WEIGHT * 5.0)


def test_admission_cannot_be_raced_past_the_bound(connection: redis.Redis, part_settings: Settings) -> None:
    previews, renders = (Queue(name, connection=connection) for name in ("preview-race", "k"))
    capacity = Capacity(connection, part_settings, previews, renders)

    def admitted(n: int) -> bool:
        try:
            capacity.admit_preview(f"job-{n}")
        except BusyError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(admitted, range(16)))
    assert sum(results) == 2  # 12 s and 22 s are within 25 s; nobody got the third place


def test_delivery_alone_pins_until_delivered(
    connection: redis.Redis, part_settings: Settings, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "s")
    records = RecordStore(connection, part_settings.record_ttl_s)
    delivery = Delivery(connection, part_settings, storage, records)
    record = _record(order_id="o-7")
    record.outputs = {"vocals": f"results/{record.id}/vocals.mp3"}
    records.register(record)
    delivery.pin(record.id, "o-7")
    assert set(retention.pinned(connection)) == {record.input_key, record.outputs["vocals"]}
    delivery.mark_delivered(record.id, keep_s=3600)
    assert retention.pinned(connection) == {}
    assert set(retention.held(connection)) == {record.outputs["vocals"]}
    assert records.require(record.id).delivered_at is not None


def test_settings_replaced_on_the_facade_reach_every_part(part_settings: Settings) -> None:
    """Tests tune one knob on a live client (``queue.settings = ...with_overrides(...)``): every
    part then reads the new settings, as the one class of before did."""
    queue = JobQueue(part_settings)
    tuned = queue.settings.with_overrides(karaoke_renders_per_day=2)
    queue.settings = tuned
    parts = (queue.delivery, queue.line, queue.capacity, queue.answers, queue.submitter, queue.karaoke)
    assert queue.settings is tuned and all(part.settings is tuned for part in parts)
