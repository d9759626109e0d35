"""Where does the voice come in? A vocal-activity curve from the predicted vocals.

The free preview should start where the singing starts, not at a 40-second intro: a person judges a
vocal remover by what happens to the voice. The curve is the RMS of the vocal estimate in short
frames; a frame is active when it is loud relative to the song's own vocal level (so a quiet ballad
and a shouted chorus behave alike) and above an absolute floor (so the faint residue a mask leaves
in an instrumental passage does not count). The entry is the first stretch that stays active for
``MIN_ACTIVE_S`` (mostly), less a short lead-in so the preview does not start mid-word.
"""

from __future__ import annotations

import numpy as np

from engine.constants import SAMPLE_RATE

FRAME_S = 0.05
RELATIVE_THRESHOLD = 0.15  # share of the loud (95th percentile) vocal level
ABSOLUTE_FLOOR = 3e-3  # about -50 dBFS RMS
MIN_ACTIVE_S = 0.5
# Share of the frames in such a stretch that must be active: sung lines have consonants and short
# breaths, so demanding every frame would skip a real entry.
MIN_ACTIVE_SHARE = 0.7
LEAD_IN_S = 1.0


def activity_curve(vocals: np.ndarray, frame_s: float = FRAME_S) -> np.ndarray:
    """RMS of the (channel-averaged) vocals per frame of ``frame_s`` seconds."""
    mono = np.asarray(vocals, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=0)
    hop = max(1, int(frame_s * SAMPLE_RATE))
    frames = mono.shape[0] // hop
    if frames == 0:
        return np.zeros(0, dtype=np.float32)
    blocks = mono[: frames * hop].reshape(frames, hop)
    return np.sqrt(np.mean(np.square(blocks), axis=1))


def active_frames(curve: np.ndarray) -> np.ndarray:
    if curve.size == 0:
        return np.zeros(0, dtype=bool)
    threshold = max(ABSOLUTE_FLOOR, RELATIVE_THRESHOLD * float(np.percentile(curve, 95)))
    return curve > threshold


def first_vocal_entry(vocals: np.ndarray) -> float:
    """Seconds from the start at which a preview should begin (0.0 if the voice never enters)."""
    active = active_frames(activity_curve(vocals))
    run = int(round(MIN_ACTIVE_S / FRAME_S))
    if active.size < run:
        return 0.0
    share = np.convolve(active.astype(np.float32), np.ones(run, dtype=np.float32) / run, "valid")
    hits = np.flatnonzero(share >= MIN_ACTIVE_SHARE - 1e-6)
    if hits.size == 0:
        return 0.0
    first = hits[0] + int(np.argmax(active[hits[0] : hits[0] + run]))  # first active frame in it
    return max(0.0, first * FRAME_S - LEAD_IN_S)
