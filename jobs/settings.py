"""Configuration of the job pipeline, read once from the environment.

Every knob has a named default here so a fresh checkout runs with no configuration at all, and a
deployment changes behaviour only through environment variables (documented in .env.example).
Secrets (S3 keys) are held but never printed: ``repr`` hides them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.constants import DEFAULT_OUTPUT_FORMAT, MAX_DURATION_S, PREVIEW_LENGTH_S

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_STORAGE_DIR = "var/storage"
DEFAULT_MODEL_PATH = "models/vocals-unet.pt"
DEFAULT_RETENTION_HOURS = 24.0
DEFAULT_MAX_JOBS_PER_USER = 3  # queued + running jobs one person may have at once
DEFAULT_USER_CONCURRENCY = 1  # of those, how many may be handed to workers at the same time
DEFAULT_PREVIEW_FORMAT = DEFAULT_OUTPUT_FORMAT
DEFAULT_RECORD_TTL_DAYS = 30.0  # job records outlive their audio so status and accounting work
DEFAULT_JOB_TIMEOUT_BASE_S = 120.0
DEFAULT_JOB_TIMEOUT_PER_AUDIO_S = 2.0  # seconds of wall time allowed per second of audio
DEFAULT_JOB_RETRIES = 2
DEFAULT_RETRY_BACKOFF_S = (10, 60)
DEFAULT_WORKER_HEARTBEAT_S = 10.0
DEFAULT_WORKER_HEARTBEAT_TTL_S = 60
DEFAULT_MAINTENANCE_INTERVAL_S = 60
DEFAULT_EVENTS_MAXLEN = 100_000
# Back-pressure: a new preview is refused ("busy, try later") while this many per live worker
# are already waiting. A CPU worker makes a 30 s preview in 2-5 s, so 20 is about a minute's wait.
DEFAULT_MAX_WAITING_PREVIEWS_PER_WORKER = 20


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    return float(raw) if raw else default


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    return int(raw) if raw else default


def _env_str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    raw = env.get(name, "").strip()
    return raw or default


def _env_ints(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = env.get(name, "").strip()
    return tuple(int(part) for part in raw.split(",") if part.strip()) if raw else default


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline (API, worker, retention) needs to know about its deployment."""

    redis_url: str = DEFAULT_REDIS_URL
    # Local-directory storage (default). Ignored when ``s3_bucket`` is set.
    storage_dir: Path = Path(DEFAULT_STORAGE_DIR)
    # S3-compatible storage (AWS S3, MinIO) for workers on other machines.
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_prefix: str = ""
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    model_path: Path = Path(DEFAULT_MODEL_PATH)
    # Device for the worker's model: None picks CUDA when present.
    device: str | None = None
    retention_s: float = DEFAULT_RETENTION_HOURS * 3600
    record_ttl_s: float = DEFAULT_RECORD_TTL_DAYS * 86400
    max_jobs_per_user: int = DEFAULT_MAX_JOBS_PER_USER
    user_concurrency: int = DEFAULT_USER_CONCURRENCY
    max_waiting_previews_per_worker: int = DEFAULT_MAX_WAITING_PREVIEWS_PER_WORKER
    max_duration_s: float = float(MAX_DURATION_S)
    preview_length_s: float = PREVIEW_LENGTH_S
    preview_format: str = DEFAULT_PREVIEW_FORMAT
    job_timeout_base_s: float = DEFAULT_JOB_TIMEOUT_BASE_S
    job_timeout_per_audio_s: float = DEFAULT_JOB_TIMEOUT_PER_AUDIO_S
    job_retries: int = DEFAULT_JOB_RETRIES
    retry_backoff_s: tuple[int, ...] = DEFAULT_RETRY_BACKOFF_S
    worker_heartbeat_s: float = DEFAULT_WORKER_HEARTBEAT_S
    worker_heartbeat_ttl_s: int = DEFAULT_WORKER_HEARTBEAT_TTL_S
    maintenance_interval_s: int = DEFAULT_MAINTENANCE_INTERVAL_S
    events_maxlen: int = DEFAULT_EVENTS_MAXLEN

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the deployment's settings; unset or empty variables keep the defaults."""
        env = os.environ if env is None else env
        return cls(
            redis_url=_env_str(env, "REDIS_URL", DEFAULT_REDIS_URL) or DEFAULT_REDIS_URL,
            storage_dir=Path(_env_str(env, "STORAGE_DIR", DEFAULT_STORAGE_DIR) or ""),
            s3_bucket=_env_str(env, "S3_BUCKET"),
            s3_endpoint_url=_env_str(env, "S3_ENDPOINT_URL"),
            s3_region=_env_str(env, "S3_REGION"),
            s3_prefix=_env_str(env, "S3_PREFIX", "") or "",
            aws_access_key_id=_env_str(env, "AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=_env_str(env, "AWS_SECRET_ACCESS_KEY"),
            model_path=Path(_env_str(env, "MODEL_PATH", DEFAULT_MODEL_PATH) or ""),
            device=_env_str(env, "MODEL_DEVICE"),
            retention_s=_env_float(env, "RETENTION_HOURS", DEFAULT_RETENTION_HOURS) * 3600,
            record_ttl_s=_env_float(env, "RECORD_TTL_DAYS", DEFAULT_RECORD_TTL_DAYS) * 86400,
            max_jobs_per_user=_env_int(env, "MAX_JOBS_PER_USER", DEFAULT_MAX_JOBS_PER_USER),
            user_concurrency=_env_int(env, "USER_CONCURRENCY", DEFAULT_USER_CONCURRENCY),
            max_waiting_previews_per_worker=_env_int(
                env, "MAX_WAITING_PREVIEWS_PER_WORKER", DEFAULT_MAX_WAITING_PREVIEWS_PER_WORKER
            ),
            max_duration_s=_env_float(env, "MAX_DURATION_S", float(MAX_DURATION_S)),
            preview_length_s=_env_float(env, "PREVIEW_LENGTH_S", PREVIEW_LENGTH_S),
            preview_format=_env_str(env, "PREVIEW_FORMAT", DEFAULT_PREVIEW_FORMAT)
            or DEFAULT_PREVIEW_FORMAT,
            job_timeout_base_s=_env_float(env, "JOB_TIMEOUT_BASE_S", DEFAULT_JOB_TIMEOUT_BASE_S),
            job_timeout_per_audio_s=_env_float(
                env, "JOB_TIMEOUT_PER_AUDIO_S", DEFAULT_JOB_TIMEOUT_PER_AUDIO_S
            ),
            job_retries=_env_int(env, "JOB_RETRIES", DEFAULT_JOB_RETRIES),
            retry_backoff_s=_env_ints(env, "RETRY_BACKOFF_S", DEFAULT_RETRY_BACKOFF_S),
            worker_heartbeat_s=_env_float(env, "WORKER_HEARTBEAT_S", DEFAULT_WORKER_HEARTBEAT_S),
            worker_heartbeat_ttl_s=_env_int(
                env, "WORKER_HEARTBEAT_TTL_S", DEFAULT_WORKER_HEARTBEAT_TTL_S
            ),
            maintenance_interval_s=_env_int(
                env, "WORKER_MAINTENANCE_S", DEFAULT_MAINTENANCE_INTERVAL_S
            ),
            events_maxlen=_env_int(env, "EVENTS_MAXLEN", DEFAULT_EVENTS_MAXLEN),
        )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests, the demo, the benchmark)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def uses_s3(self) -> bool:
        return bool(self.s3_bucket)
