"""Fixtures for pipeline tests: settings pointing at the test's redis-server, storage directory and
the tiny real model (root conftest), and real ``python worker.py`` processes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from jobs import JobQueue, Settings, keys
from jobs.events import JobEvent
from testbed.redis_server import RedisServer
from testbed.workers import WorkerProcess, Workers, fast_settings


@pytest.fixture
def settings(redis_server: RedisServer, tmp_path: Path, tiny_model: Path) -> Settings:
    return fast_settings(redis_server.url, tmp_path / "storage", tiny_model)


@pytest.fixture
def start_workers(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., list[WorkerProcess]]]:
    """``start_workers(n, **env)`` starts n real ``python worker.py`` processes and waits until
    each has registered with Redis (model loaded and warmed up)."""
    workers = Workers(settings, tmp_path)
    yield workers.start
    workers.stop_all()


@pytest.fixture
def job_queue(settings: Settings) -> JobQueue:
    return JobQueue(settings)


def wait_for(
    predicate: Callable[[], object], timeout: float = 60.0, interval: float = 0.1, what: str = "condition"
) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def stream_events(connection: redis.Redis, platform: str) -> list[JobEvent]:
    """Every event in a platform's stream, oldest first (a read that acknowledges nothing)."""
    return [JobEvent.from_fields(sid, raw) for sid, raw in connection.xrange(keys.events(platform))]


def events_for(connection: redis.Redis, platform: str, job_id: str) -> list[JobEvent]:
    return [e for e in stream_events(connection, platform) if e.job_id == job_id]


def dump(obj: object) -> str:
    return json.dumps(obj, default=str, indent=1)
