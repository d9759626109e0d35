"""Configuration of the job pipeline, read once at start-up (``service.envconfig``).

Every knob has a named default here so a fresh checkout runs with no configuration at all, and a
deployment changes behaviour only through environment variables or ``.env`` (documented in
.env.example). Secrets (S3 keys) are held but never printed: ``repr`` hides them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from service import pseudonyms
from service.envconfig import boolean, env_field, integer, integers, load, number
from service.limits import DEFAULT_OUTPUT_FORMAT, MAX_DURATION_S, OUTPUT_FORMATS, PREVIEW_LENGTH_S

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
# Admission (jobs/wait.py): a free preview is accepted while its expected wait — the previews
# ahead × the measured seconds per preview / workers alive, plus its own — is at most this; past
# it the person is told "busy, try later" with the wait. Three minutes: still "soon" in a chat.
DEFAULT_MAX_PREVIEW_WAIT_S = 180.0
# The seconds of a worker a preview is assumed to take until the workers have measured one (a
# fresh deployment): a busy 2-core CPU's figure (11-16 s, bench/load.py, docs/BENCHMARKS.md), so
# a cold start promises no more than a slow worker keeps; the first finished preview replaces it.
DEFAULT_PREVIEW_ESTIMATE_S = 15.0
# Seconds between two updates of a waiting person's place and wait (jobs/wait_updates.py): the
# figure stays current while a chat platform's edit limits hold (100 waiting: 10 edits a second).
DEFAULT_WAIT_UPDATE_INTERVAL_S = 10.0
# Karaoke preview renders (a preview clip in a new key, tempo or guide level) one person may ask
# for per UTC day: a few songs tried in several keys each. A render is about 4 s of a worker.
DEFAULT_KARAOKE_RENDERS_PER_DAY = 60


def output_format(raw: str) -> str:
    fmt = raw.lower()
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"must be one of {', '.join(OUTPUT_FORMATS)}")
    return fmt


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline (API, worker, retention) needs to know about its deployment."""

    redis_url: str = env_field("REDIS_URL", default=DEFAULT_REDIS_URL)
    # Local-directory storage (default). Ignored when ``s3_bucket`` is set.
    storage_dir: Path = env_field("STORAGE_DIR", Path, default=Path(DEFAULT_STORAGE_DIR))
    # S3-compatible storage (AWS S3, MinIO) for workers on other machines.
    s3_bucket: str | None = env_field("S3_BUCKET", default=None)
    s3_endpoint_url: str | None = env_field("S3_ENDPOINT_URL", default=None)
    s3_region: str | None = env_field("S3_REGION", default=None)
    s3_prefix: str = env_field("S3_PREFIX", default="")
    aws_access_key_id: str | None = env_field("AWS_ACCESS_KEY_ID", default=None, secret=True)
    aws_secret_access_key: str | None = env_field("AWS_SECRET_ACCESS_KEY", default=None, secret=True)
    # The worker's model (``python -m engine`` has its own default, engine.settings).
    model_path: Path = env_field("MODEL_PATH", Path, default=Path(DEFAULT_MODEL_PATH))
    # Device for the worker's model: None picks CUDA when present.
    device: str | None = env_field("MODEL_DEVICE", default=None)
    # torch CPU threads per worker process; None: torch's default (all cores).
    torch_num_threads: int | None = env_field("TORCH_NUM_THREADS", integer(1), default=None)
    retention_s: float = env_field(
        "RETENTION_HOURS", number(0, scale=3600), default=DEFAULT_RETENTION_HOURS * 3600
    )
    record_ttl_s: float = env_field(
        "RECORD_TTL_DAYS", number(0, scale=86400), default=DEFAULT_RECORD_TTL_DAYS * 86400
    )
    max_jobs_per_user: int = env_field("MAX_JOBS_PER_USER", integer(1), default=DEFAULT_MAX_JOBS_PER_USER)
    user_concurrency: int = env_field("USER_CONCURRENCY", integer(1), default=DEFAULT_USER_CONCURRENCY)
    max_preview_wait_s: float = env_field("MAX_PREVIEW_WAIT_S", number(0), default=DEFAULT_MAX_PREVIEW_WAIT_S)
    preview_estimate_s: float = env_field("PREVIEW_ESTIMATE_S", number(0), default=DEFAULT_PREVIEW_ESTIMATE_S)
    wait_update_interval_s: float = env_field(
        "WAIT_UPDATE_INTERVAL_S", number(0), default=DEFAULT_WAIT_UPDATE_INTERVAL_S
    )
    max_duration_s: float = env_field("MAX_DURATION_S", number(0), default=float(MAX_DURATION_S))
    preview_length_s: float = env_field("PREVIEW_LENGTH_S", number(0), default=PREVIEW_LENGTH_S)
    preview_format: str = env_field("PREVIEW_FORMAT", output_format, default=DEFAULT_PREVIEW_FORMAT)
    # Karaoke tools (docs/KARAOKE.md): part of every order at no extra charge; off hides them
    # in the bots (no buttons, orders carry no variant).
    karaoke_enabled: bool = env_field("KARAOKE_ENABLED", boolean, default=True)
    karaoke_renders_per_day: int = env_field(
        "KARAOKE_RENDERS_PER_DAY", integer(1), default=DEFAULT_KARAOKE_RENDERS_PER_DAY
    )
    # The same secret as payments': the day's render count is kept under its keyed HMAC of the
    # person (service.pseudonyms), so /forget neither resets it nor leaves their id. Needed where
    # renders are asked for (the bots, which refuse to start without it); workers never use it.
    abuse_hmac_secret: str | None = env_field("ABUSE_HMAC_SECRET", default=None, secret=True)
    job_timeout_base_s: float = env_field("JOB_TIMEOUT_BASE_S", number(0), default=DEFAULT_JOB_TIMEOUT_BASE_S)
    job_timeout_per_audio_s: float = env_field(
        "JOB_TIMEOUT_PER_AUDIO_S", number(0), default=DEFAULT_JOB_TIMEOUT_PER_AUDIO_S
    )
    job_retries: int = env_field("JOB_RETRIES", integer(0), default=DEFAULT_JOB_RETRIES)
    retry_backoff_s: tuple[int, ...] = env_field("RETRY_BACKOFF_S", integers, default=DEFAULT_RETRY_BACKOFF_S)
    worker_heartbeat_s: float = env_field("WORKER_HEARTBEAT_S", number(0), default=DEFAULT_WORKER_HEARTBEAT_S)
    worker_heartbeat_ttl_s: int = env_field(
        "WORKER_HEARTBEAT_TTL_S", integer(1), default=DEFAULT_WORKER_HEARTBEAT_TTL_S
    )
    maintenance_interval_s: int = env_field(
        "WORKER_MAINTENANCE_S", integer(1), default=DEFAULT_MAINTENANCE_INTERVAL_S
    )
    events_maxlen: int = env_field("EVENTS_MAXLEN", integer(1), default=DEFAULT_EVENTS_MAXLEN)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the deployment's settings (default: the environment over ``.env``); unset or
        empty variables keep the defaults; every bad value is named in one ``SettingsError``."""
        return load(cls, env)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests, the demo, the benchmark); ``replace`` checks
        the names, and each field's type is the caller's to keep."""
        return replace(self, **changes)

    @property
    def abuse_key(self) -> bytes:
        """The key of the karaoke render count's HMAC (``ABUSE_HMAC_SECRET``);
        :class:`~service.envconfig.SettingsError` when unset (:func:`service.pseudonyms.abuse_key`)."""
        return pseudonyms.abuse_key(self.abuse_hmac_secret)

    @property
    def uses_s3(self) -> bool:
        return bool(self.s3_bucket)
