"""How long a job may run and how it is retried.

A job's time limit scales with the audio it has to separate: a fixed allowance (start-up, decode,
upload) plus a per-second-of-audio allowance sized for the slowest worker we run (a CPU). A
preview separates only a bounded stretch (see :data:`PREVIEW_SEPARATED_MAX_S`), so its limit stops
growing with the song.
"""

from __future__ import annotations

from rq import Retry

from jobs.records import JobKind
from jobs.settings import Settings

# A preview separates at most its scan window plus one preview window with context.
PREVIEW_SCAN_S = 90.0  # the opening stretch searched for the first vocal entry
PREVIEW_CONTEXT_S = 3.0  # extra audio separated on each side of a window, then dropped
# How long callbacks (failure bookkeeping) may take.
CALLBACK_TIMEOUT_S = 60
# A karaoke render (one Rubber Band pass, docs/KARAOKE.md) measured 0.14-0.23 s per second of
# audio on the contended 2-core CPU (4-minute song 40 s, 20-minute song 275 s): allow 4x that,
# on top of a fixed allowance for fetching, decoding and storing the stems.
KARAOKE_TIMEOUT_BASE_S = 60.0
KARAOKE_TIMEOUT_PER_AUDIO_S = 1.0


def separated_seconds(duration_s: float, kind: JobKind, preview_length_s: float) -> float:
    """Seconds of audio a job will run through the model."""
    if kind is JobKind.PREVIEW:
        return min(duration_s, PREVIEW_SCAN_S + preview_length_s + 2 * PREVIEW_CONTEXT_S)
    return duration_s


def job_timeout(settings: Settings, duration_s: float, kind: JobKind, karaoke: bool = False) -> int:
    """Wall-clock limit in seconds for one attempt of a job; ``karaoke``: a full job that also
    renders its karaoke variant after separating (see :func:`karaoke_timeout`)."""
    audio_s = separated_seconds(duration_s, kind, settings.preview_length_s)
    limit = settings.job_timeout_base_s + settings.job_timeout_per_audio_s * audio_s
    return int(limit) + (karaoke_timeout(duration_s) if karaoke else 0)


def karaoke_timeout(audio_s: float) -> int:
    """Wall-clock limit in seconds for rendering a karaoke variant of ``audio_s`` seconds of
    stems (a preview clip, or a whole paid song): grows with the audio like a job's."""
    return int(KARAOKE_TIMEOUT_BASE_S + KARAOKE_TIMEOUT_PER_AUDIO_S * audio_s)


def retry_policy(settings: Settings) -> Retry | None:
    """Retries for transient failures (a worker crash, storage or Redis hiccups), with backoff.
    Permanent failures (bad audio) switch retries off in the task itself."""
    if settings.job_retries <= 0:
        return None
    return Retry(max=settings.job_retries, interval=list(settings.retry_backoff_s))
