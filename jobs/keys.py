"""Every Redis key the pipeline owns, named in one place.

RQ keeps its own keys under ``rq:``; ours live under ``vr:`` so an operator can tell them apart
and a flush of one never touches the other.
"""

from __future__ import annotations

PREFIX = "vr"
PREVIEW_QUEUE = "preview"  # high priority: a worker always drains it first
FULL_QUEUE = "full"
# Karaoke preview clips in new settings: taken only when no paid full song waits, so a burst of
# key taps never holds up a paid job (jobs/karaoke_jobs.py).
KARAOKE_QUEUE = "karaoke"
# Key and tempo of a finished job (jobs/analysis.py): seconds each, after previews, before full
# songs, so the numbers follow the stems promptly without holding up a person's preview.
ANALYSIS_QUEUE = "analysis"
QUEUES = (PREVIEW_QUEUE, ANALYSIS_QUEUE, FULL_QUEUE, KARAOKE_QUEUE)  # in priority order


def record(job_id: str) -> str:
    """Hash holding one job's :class:`jobs.records.JobRecord`."""
    return f"{PREFIX}:job:{job_id}"


def user_active(platform: str, user_id: str) -> str:
    """Set of a person's job ids that are queued, waiting or running (the per-user limit)."""
    return f"{PREFIX}:user:{platform}:{user_id}:active"


def user_rate_limit(platform: str, user_id: str) -> str:
    """RQ rate-limit key: how many of a person's jobs may be handed to workers at once."""
    return f"user:{platform}:{user_id}"


def karaoke_slot(platform: str, user_id: str) -> str:
    """The RQ id of the one karaoke preview render a person has in line (expires by itself;
    /forget deletes it)."""
    return f"{PREFIX}:user:{platform}:{user_id}:karaoke"


def karaoke_renders(day: str, mark: str) -> str:
    """How many karaoke preview renders a person asked for on one UTC day (the daily allowance),
    by their abuse mark (:func:`service.pseudonyms.abuse_mark`), never their id: an abuse limit,
    it survives /forget, which must leave nothing in Redis naming the person."""
    return f"{PREFIX}:karaoke-renders:{day}:{mark}"


def events(platform: str) -> str:
    """Stream of job events for one platform's bots (Telegram, Discord, ...)."""
    return f"{PREFIX}:events:{platform}"


def dead_events(platform: str) -> str:
    """Stream of one platform's events its bots gave up on (operators read it with XRANGE)."""
    return f"{PREFIX}:events:{platform}:dead"


def user_jobs(platform: str, user_id: str) -> str:
    """Set of every job id of one person whose record may still exist (for /forget)."""
    return f"{PREFIX}:user:{platform}:{user_id}:jobs"


def cache(model_version: str, kind: str, fmt: str, content_hash: str) -> str:
    """Pointer from a song (decoded-audio hash) to the job whose stored results answer it."""
    return f"{PREFIX}:cache:{model_version}:{kind}:{fmt}:{content_hash}"


PINNED = f"{PREFIX}:pinned"  # set of storage keys the retention sweep must keep
# Sorted set: storage key -> until when (epoch s) a delivered paid order's links still need it.
HELD = f"{PREFIX}:held"


def pins(storage_key: str) -> str:
    """Set of the order ids that keep one stored object (two orders may share a cached result)."""
    return f"{PREFIX}:pin:{storage_key}"


# The seconds of a worker one preview takes, as the workers measured it (jobs/wait.py): a hash of
# ``seconds`` (the moving average), ``samples`` and ``updated_at``.
PREVIEW_TIME = f"{PREFIX}:preview-time"
# Sorted set: job id -> when it was admitted, for previews admitted but not yet in RQ's queue
# (jobs/wait.py): counted as waiting, so two admissions at once cannot both take the last place.
ADMISSIONS = f"{PREFIX}:admissions"


def waiting_updates(platform: str) -> str:
    """Sorted set of one platform's waiting previews: job id -> when its person is next told
    their place and expected wait (:mod:`jobs.wait_updates`)."""
    return f"{PREFIX}:waiting:{platform}"


MODEL_VERSION = f"{PREFIX}:model-version"  # the version the workers have loaded (cache key part)


def stats(day: str) -> str:
    """Hash of one UTC day's job counters (:mod:`jobs.stats`)."""
    return f"{PREFIX}:stats:{day}"


_PLATFORM_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


def check_platform(platform: str) -> str:
    """``platform`` is part of Redis keys: lowercase letters, digits, ``_`` and ``-`` only."""
    if not platform or not set(platform) <= _PLATFORM_CHARS:
        raise ValueError(f"platform must be lowercase letters/digits, got {platform!r}")
    return platform


def upload_link(nonce: str) -> str:
    """One upload link's use (``web.uploads.LinkUses``): "busy" while a file comes in through
    it, "used" once a song did; expires with the link."""
    return f"{PREFIX}:upload-link:{nonce}"
