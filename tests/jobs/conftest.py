"""Fixtures for pipeline tests: a tiny real model, settings pointing at the test's redis-server
and storage directory, and real ``python worker.py`` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import torch
from rq import Worker

from jobs import JobQueue, Settings, keys
from jobs.events import JobEvent
from tests.conftest import RedisServer

REPO = Path(__file__).resolve().parents[2]
WORKER_START_TIMEOUT_S = 60.0


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real exported checkpoint of the engine's U-Net, narrow and untrained: the pipeline
    needs a model that loads and runs like the shipped one, not one that separates well."""
    from engine import checkpoint
    from engine.model import UNet, UNetConfig
    from engine.transforms import STFTConfig

    torch.manual_seed(0)
    cfg = UNetConfig(width=4)
    net = UNet(cfg)
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    checkpoint.export(
        {"ema_state": net.state_dict(), "unet": cfg.to_dict(), "stft": STFTConfig().to_dict(),
         "step": 0},
        path,
    )
    return path


@pytest.fixture
def settings(redis_server: RedisServer, tmp_path: Path, tiny_model: Path) -> Settings:
    """Production settings with test-sized timings (heartbeats, maintenance, backoff)."""
    return Settings(
        redis_url=redis_server.url,
        storage_dir=tmp_path / "storage",
        model_path=tiny_model,
        device="cpu",
        preview_length_s=2.0,
        job_timeout_base_s=60.0,
        retry_backoff_s=(1,),
        worker_heartbeat_s=0.5,
        worker_heartbeat_ttl_s=3,
        maintenance_interval_s=2,
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment a worker process needs to see ``settings``."""
    return {
        "REDIS_URL": settings.redis_url,
        "STORAGE_DIR": str(settings.storage_dir),
        "MODEL_PATH": str(settings.model_path),
        "MODEL_DEVICE": settings.device or "",
        "PREVIEW_LENGTH_S": str(settings.preview_length_s),
        "MAX_JOBS_PER_USER": str(settings.max_jobs_per_user),
        "USER_CONCURRENCY": str(settings.user_concurrency),
        "JOB_TIMEOUT_BASE_S": str(settings.job_timeout_base_s),
        "JOB_RETRIES": str(settings.job_retries),
        "RETRY_BACKOFF_S": ",".join(str(s) for s in settings.retry_backoff_s),
        "WORKER_HEARTBEAT_S": str(settings.worker_heartbeat_s),
        "WORKER_HEARTBEAT_TTL_S": str(settings.worker_heartbeat_ttl_s),
        "WORKER_MAINTENANCE_S": str(settings.maintenance_interval_s),
        "RETENTION_HOURS": str(settings.retention_s / 3600),
    }


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """A crash: SIGKILL the worker process alone (RQ's scheduler child lives on)."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """End the worker and RQ's scheduler child (its process group) at once."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_workers(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., list[WorkerProcess]]]:
    """``start_workers(n)`` starts n real ``python worker.py`` processes and waits until each has
    registered with Redis (model loaded and warmed up)."""
    started: list[WorkerProcess] = []

    def start(n: int = 1, **overrides: str) -> list[WorkerProcess]:
        env = {**os.environ, **settings_env(settings), "TORCH_NUM_THREADS": "1",
               "PYTHONPATH": str(REPO), **overrides}
        batch = []
        connection = redis.Redis.from_url(settings.redis_url)
        before = len(Worker.all(connection=connection))
        for _ in range(n):
            log = tmp_path / f"worker-{len(started)}.log"
            process = subprocess.Popen(
                [sys.executable, str(REPO / "worker.py")],
                cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            worker = WorkerProcess(process, log)
            started.append(worker)
            batch.append(worker)
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        while len(Worker.all(connection=connection)) < before + n:
            for worker in batch:
                if worker.process.poll() is not None:
                    raise RuntimeError(f"worker exited early:\n{worker.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start in time")
            time.sleep(0.1)
        return batch

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def job_queue(settings: Settings) -> JobQueue:
    return JobQueue(settings)


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, interval: float = 0.1,
             what: str = "condition") -> object:
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
    return [
        JobEvent.from_fields(sid, raw)
        for sid, raw in connection.xrange(keys.events(platform))
    ]


def events_for(connection: redis.Redis, platform: str, job_id: str) -> list[JobEvent]:
    return [e for e in stream_events(connection, platform) if e.job_id == job_id]


def dump(obj: object) -> str:
    return json.dumps(obj, default=str, indent=1)
