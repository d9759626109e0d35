"""What the results page knows of one finished job, and the hook that tells it.

``payments`` never imports ``jobs`` (only :mod:`web.jobs_bridge` does), so the page asks an
injected :data:`ResultSource` — ``JobsFulfilment.job_results`` in production — for plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.analysis import Analysis


@dataclass(frozen=True)
class StoredFile:
    """One output of a job: a local file (streamed by us) or a URL (presigned, redirected to)."""

    location: Path | str
    suffix: str  # ".mp3", ".png": decides Content-Type and the download's name
    size: int | None = None


@dataclass(frozen=True)
class JobResults:
    """A *finished* job as its page shows it; ``files`` holds only outputs still stored, by
    output name (``vocals``, ``instrumental``, ``waveform``)."""

    job_id: str
    preview: bool
    title: str
    platform: str
    user_id: str
    model_version: str
    order_id: str | None
    clip_s: float  # how long the stems are
    start_s: float | None  # where a preview starts in the song
    files: Mapping[str, StoredFile]
    analysis: Analysis | None = None  # key and tempo, once analysed (jobs/analysis.py)
    preview_analysis: Analysis | None = None  # a full job's preview's, to note a difference


# job id -> its results, or None when the job is unknown, unfinished or failed.
ResultSource = Callable[[str], JobResults | None]
