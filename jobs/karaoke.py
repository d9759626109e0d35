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
from engine.constants import MAX_DURATION_S, OUTPUT_FORMATS, SAMPLE_RATE
from engine.karaoke import KaraokeSettings, render
from jobs.storage import Storage, check_key

KARAOKE_PREFIX = "karaoke-"
# A stored stem is at most a song long (the longest we take); decoding refuses anything longer.
MAX_STEM_DURATION_S = MAX_DURATION_S


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
    max_duration_s: float = MAX_STEM_DURATION_S,
) -> str:
    """Render (or find) the karaoke variant of job ``job_id`` and return its storage key.

    ``outputs`` is the finished job's record outputs (``"instrumental"`` and ``"vocals"`` keys);
    the variant has the stems' format. Raises :class:`jobs.storage.StorageError` if a stem is
    gone (retention), :class:`engine.errors.AudioError` if one no longer decodes.
    """
    instrumental_key = outputs["instrumental"]
    if settings.is_identity:
        return instrumental_key
    fmt = PurePosixPath(instrumental_key).suffix.lstrip(".").lower()
    key = karaoke_key(job_id, settings, fmt)
    if storage.exists(key):
        return key
    with tempfile.TemporaryDirectory(prefix=f"vr-karaoke-{job_id[:8]}-") as tmp:
        work = Path(tmp)

        def fetch(name: str) -> Path:
            stored = outputs[name]
            return storage.get_file(stored, work / f"{name}{PurePosixPath(stored).suffix}")

        instrumental = decode(fetch("instrumental"), max_duration_s, allow_silence=True)
        if settings.guide_db is None:
            # Not read at gain 0: a zero-stride view, no decode and no song-sized buffer.
            vocals = np.broadcast_to(np.float32(0.0), instrumental.shape)
        else:
            vocals = decode(fetch("vocals"), max_duration_s, allow_silence=True)
            length = min(instrumental.shape[1], vocals.shape[1])  # codec padding may differ
            instrumental, vocals = instrumental[:, :length], vocals[:, :length]
        rendered = render(instrumental, vocals, SAMPLE_RATE, settings)
        del instrumental, vocals
        path = encode(rendered, work / f"karaoke.{fmt}", fmt)
        del rendered
        storage.put_file(key, path)
    return key
