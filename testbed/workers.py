"""Real ``python worker.py`` processes for a test's Redis and storage, and a tiny model for them.

The pipeline's and the bots' tests need workers that load a checkpoint and run it exactly like
the shipped one; separation quality does not matter there, so :func:`export_tiny_model` writes a
narrow, untrained export of the engine's U-Net (a fraction of a second to make and to run).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from rq import Worker

import jobs

REPO = Path(__file__).resolve().parents[1]
WORKER_START_TIMEOUT_S = 90.0
TINY_MODEL_WIDTH = 4


def export_tiny_model(path: Path) -> Path:
    """Write an exported checkpoint of a narrow, untrained U-Net to ``path``."""
    import torch

    from engine import checkpoint
    from engine.model import UNet, UNetConfig
    from engine.transforms import STFTConfig

    torch.manual_seed(0)
    cfg = UNetConfig(width=TINY_MODEL_WIDTH)
    checkpoint.export(
        {
            "ema_state": UNet(cfg).state_dict(),
            "unet": cfg.to_dict(),
            "stft": STFTConfig().to_dict(),
            "step": 0,
        },
        path,
    )
    return path


# The abuse-limit HMAC's key every test deployment uses (``ABUSE_HMAC_SECRET``, required by the
# bots and the payments service; tests/conftest.py puts it in the environment of the processes
# the tests start).
ABUSE_HMAC_SECRET = "abuse-hmac-secret-for-the-tests"


def fast_settings(redis_url: str, storage_dir: Path, model_path: Path, **overrides: object) -> jobs.Settings:
    """Production settings with test-sized timings: heartbeats, maintenance rounds and retry
    backoff in seconds rather than minutes, so failure handling shows within a test."""
    values: dict[str, object] = {
        "redis_url": redis_url,
        "storage_dir": storage_dir,
        "model_path": model_path,
        "device": "cpu",
        "preview_length_s": 2.0,
        "job_timeout_base_s": 60.0,
        "retry_backoff_s": (1,),
        "worker_heartbeat_s": 0.5,
        "worker_heartbeat_ttl_s": 3,
        "maintenance_interval_s": 2,
        "abuse_hmac_secret": ABUSE_HMAC_SECRET,
    }
    return jobs.Settings(**{**values, **overrides})  # type: ignore[arg-type]


def settings_env(settings: jobs.Settings) -> dict[str, str]:
    """The environment variables under which ``jobs.Settings.from_env`` gives ``settings``."""
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
    """One worker process (in its own process group, with RQ's scheduler child, if any)."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    @classmethod
    def spawn(cls, settings: jobs.Settings, log: Path, **overrides: str) -> WorkerProcess:
        env = {
            **os.environ,
            **settings_env(settings),
            "TORCH_NUM_THREADS": "1",  # the suites share two cores
            "PYTHONPATH": str(REPO),
            **overrides,
        }
        process = subprocess.Popen(
            [sys.executable, str(REPO / "worker.py")],
            cwd=REPO,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return cls(process, log)

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


class Workers:
    """Starts workers for one deployment's settings; :meth:`stop_all` ends every one of them."""

    def __init__(self, settings: jobs.Settings, log_dir: Path) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.started: list[WorkerProcess] = []

    def start(self, n: int = 1, **overrides: str) -> list[WorkerProcess]:
        """Start ``n`` workers; return once each has registered (model loaded and warmed up)."""
        connection = redis.Redis.from_url(self.settings.redis_url)
        try:
            before = len(Worker.all(connection=connection))
            batch = [
                WorkerProcess.spawn(
                    self.settings, self.log_dir / f"worker-{len(self.started) + i}.log", **overrides
                )
                for i in range(n)
            ]
            self.started += batch
            deadline = time.monotonic() + WORKER_START_TIMEOUT_S
            while len(Worker.all(connection=connection)) < before + n:
                for worker in batch:
                    if worker.process.poll() is not None:
                        raise RuntimeError(f"worker exited early:\n{worker.output()[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError("workers did not start in time")
                time.sleep(0.1)
        finally:
            connection.close()
        return batch

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()
