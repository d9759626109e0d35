"""What the results page's mixer and karaoke settings need from the job pipeline, as hooks.

``web`` never imports ``jobs`` outside :mod:`web.jobs_bridge`, which fills :class:`PageTools` in
production (tests may pass plain functions). Plain values cross: paths, settings, answers.

* :data:`StemReader` — a local file to read a job's stem from: the stored file itself, or, where
  storage is S3, a copy the web server keeps in a bounded cache, so the mixer's audio always comes
  from our own origin (Web Audio may only read same-origin or CORS audio) and segments can seek;
* :class:`PageKaraoke` — a preview's karaoke version: render it through the chat's own job and
  limits (:meth:`jobs.JobQueue.render_karaoke`), and find it when it is ready.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from engine.karaoke import KaraokeSettings
from web.job_results import StoredFile

# (job id, output name) → a local file to read it from, or None when it is no longer stored.
StemReader = Callable[[str, str], Path | None]


class RenderAnswer(StrEnum):
    """What asking for a karaoke version from the page came to (the chat's own outcomes)."""

    QUEUED = "queued"  # a worker makes it now
    ALREADY = "already"  # the same version is already being made
    ORIGINAL = "original"  # the original settings: the instrumental itself, nothing to make
    ONE_AT_A_TIME = "one_at_a_time"  # another version of theirs is still in line
    QUOTA = "quota"  # today's allowance is used
    BUSY = "busy"  # the workers are full
    GONE = "gone"  # the preview is no longer a finished, stored one
    SLOW_DOWN = "slow_down"  # too many requests a minute


class VariantState(StrEnum):
    READY = "ready"
    PENDING = "pending"
    FAILED = "failed"  # asked for, and its render ended without a file
    NONE = "none"  # never asked for (or forgotten since)


@dataclass(frozen=True)
class Variant:
    state: VariantState
    file: StoredFile | None = None  # set when READY


@dataclass(frozen=True)
class PageKaraoke:
    """A preview's karaoke versions, as the page may ask for them.

    ``render(job id, settings)`` asks for one as a chat tap does (and saves it as the owner's
    preference, which a later purchase orders); ``variant(job id, settings)`` says where it
    stands; ``preference(platform, user id)`` is the owner's saved choice (the form's default);
    ``per_day`` is the daily allowance the refusal names."""

    render: Callable[[str, KaraokeSettings], RenderAnswer]
    variant: Callable[[str, KaraokeSettings], Variant]
    preference: Callable[[str, str], KaraokeSettings]
    per_day: int


@dataclass(frozen=True)
class PageTools:
    """The mixer's stem reader and, where karaoke is offered, the karaoke hooks."""

    read_stem: StemReader
    karaoke: PageKaraoke | None = None
