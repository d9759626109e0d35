"""The mixer's segments are the stem's own samples, end to end: what ffmpeg's whole decode gives
(MP3 included: no priming, no drift at a seam), cut at exact frames."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.audio import decode, encode
from engine.constants import SAMPLE_RATE
from web.stem_segments import SEGMENT_FRAMES, segment, stem_info

pytestmark = pytest.mark.apt


@pytest.mark.parametrize("fmt", ["mp3", "flac"])
def test_segments_laid_end_to_end_are_the_whole_decode(tmp_path: Path, fmt: str) -> None:
    rng = np.random.default_rng(7)
    frames = 2 * SEGMENT_FRAMES + 12_345  # two whole segments and a short last one
    audio = (0.1 * rng.standard_normal((2, frames))).astype(np.float32)
    path = encode(audio, tmp_path / f"stem.{fmt}", fmt)
    whole = decode(path, 60.0, allow_silence=True)

    info = stem_info(path)
    assert (info.frames, info.sample_rate, info.channels) == (whole.shape[1], SAMPLE_RATE, 2)
    assert info.segments == 3
    parts = []
    for index in range(info.segments):
        data = segment(path, index)
        assert data is not None
        part, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        assert rate == SAMPLE_RATE
        parts.append(part.T)
    assert [p.shape[1] for p in parts[:-1]] == [SEGMENT_FRAMES] * 2
    joined = np.concatenate(parts, axis=1)
    assert joined.shape == whole.shape
    # 16-bit FLAC: the decode to within one step of 16 bits, every sample in its place.
    assert np.max(np.abs(joined - whole)) <= 1.5 / 32768
    assert segment(path, info.segments) is None and segment(path, -1) is None
