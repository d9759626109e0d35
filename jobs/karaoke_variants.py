"""Karaoke variants of a finished job, rendered on a worker from the job's stored stems.

No separation runs here: a job's ``instrumental`` and ``vocals`` (stored by :mod:`jobs.tasks`) are
fetched, decoded, rendered by :func:`engine.karaoke.render` and encoded with the same
:func:`engine.audio.encode` and format as the stems, then stored beside them:

    results/<job>/karaoke-<settings form>.<fmt>     e.g. results/<job>/karaoke-g12.k2.t90.mp3

A preview job's stems are its preview clip, a full job's the whole song, so the same call gives
the preview in the chosen key (before paying) and the full-length karaoke track (after).

Invariants: the key is a function of (job, settings, format) only, so a second call with the same
settings finds the stored file and renders nothing (idempotent; two workers racing write the same
bytes atomically); identity settings (no guide, original key and tempo) are the instrumental
itself, whose key is returned as is. Variants live under ``results/<job>/``, so retention, pins,
``/forget`` and a cancelled job's clean-up treat them like the stems.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import numpy as np

from engine.audio import decode, encode
from engine.constants import SAMPLE_RATE
from engine.karaoke import KaraokeSettings, render
from jobs.storage import Storage, check_key
from service.limits import MAX_DURATION_S, OUTPUT_FORMATS

KARAOKE_PREFIX = "karaoke-"
# A stored stem is as long as its song, but an mp3 container says a little more (encoder delay and
# padding to whole frames: 4 s stores as 4.049 s), so a song at the length limit must not be
# refused as too long when its own stems come back: this much slack on top of the song limit.
STEM_SLACK_S = 1.0


def karaoke_key(job_id: str, settings: KaraokeSettings, output_format: str) -> str:
    """Where a job's variant for ``settings`` is stored (``results/<job>/karaoke-<form>.<fmt>``)."""
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"unsupported output format {output_format!r}")
    return check_key(f"results/{job_id}/{KARAOKE_PREFIX}{settings.to_string()}.{output_format}")


def render_karaoke(
    storage: Storage,
    job_id: str,
    outputs: Mapping[str, str],
    settings: KaraokeSettings,
    *,
    max_duration_s: float = MAX_DURATION_S,
) -> str:
    """Render (or find) the karaoke variant of job ``job_id`` and return its storage key.

    ``outputs`` is the finished job's record outputs (``"instrumental"`` and ``"vocals"`` keys);
    the variant has the stems' format. ``max_duration_s`` is the service's song limit (the
    worker's ``settings.max_duration_s``); stems up to ``STEM_SLACK_S`` past it are taken.
    Raises :class:`jobs.storage.StorageError` if a stem is gone (retention),
    :class:`engine.errors.AudioError` if one no longer decodes.
    """
    instrumental_key = outputs["instrumental"]
    if settings.is_identity:
        return instrumental_key
    fmt = PurePosixPath(instrumental_key).suffix.lstrip(".").lower()
    key = karaoke_key(job_id, settings, fmt)
    if storage.exists(key):
        return key
    limit_s = max_duration_s + STEM_SLACK_S
    with tempfile.TemporaryDirectory(prefix=f"vr-karaoke-{job_id[:8]}-") as tmp:
        work = Path(tmp)

        def fetch(name: str) -> Path:
            stored = outputs[name]
            return storage.get_file(stored, work / f"{name}{PurePosixPath(stored).suffix}")

        instrumental = decode(fetch("instrumental"), limit_s, allow_silence=True)
        if settings.guide_db is None:
            # Not read at gain 0: a zero-stride view, no decode and no song-sized buffer.
            vocals = np.broadcast_to(np.float32(0.0), instrumental.shape)
        else:
            vocals = decode(fetch("vocals"), limit_s, allow_silence=True)
            length = min(instrumental.shape[1], vocals.shape[1])  # codec padding may differ
            instrumental, vocals = instrumental[:, :length], vocals[:, :length]
        rendered = render(instrumental, vocals, SAMPLE_RATE, settings)
        del instrumental, vocals
        path = encode(rendered, work / f"karaoke.{fmt}", fmt)
        del rendered
        storage.put_file(key, path)
    return key
