"""The parts ``JobQueue`` is composed of, each built alone on a real redis-server (no façade):
the record store, the line, the back-pressure and the pins of paid results."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis
from rq import Queue

from jobs import JobQueue, keys, retention
from jobs.capacity import Capacity
from jobs.delivery import Delivery
from jobs.errors import BusyError, JobNotFoundError, UserLimitError
from jobs.line import Line
from jobs.records import JobKind, JobRecord, JobStatus, RecordStore
from jobs.settings import Settings
from jobs.storage import LocalStorage
from testbed.redis_server import RedisServer


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
        max_waiting_previews_per_worker=3,
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


def test_capacity_alone_refuses_previews_and_renders_past_the_limit(
    connection: redis.Redis, part_settings: Settings
) -> None:
    previews = Queue("preview-test", connection=connection)
    renders = Queue("karaoke-test", connection=connection)
    capacity = Capacity(connection, part_settings, previews, renders)
    for n in range(2):
        previews.enqueue_call("builtins.print", args=(n,))
    capacity.check_previews()  # 2 waiting, 3 allowed with no live worker (counted as one)
    renders.enqueue_call("builtins.print", args=("render",))
    with pytest.raises(BusyError):
        capacity.check_renders()  # previews and renders together: 3
    capacity.check_previews()  # renders do not count against previews
    previews.enqueue_call("builtins.print", args=(2,))
    with pytest.raises(BusyError):
        capacity.check_previews()


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
