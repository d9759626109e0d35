"""Short, sample-exact segments of a job's stems, for the results page's mixer.

The mixer (``web/static/mixer.js``) plays vocals and instrumental together through Web Audio
with a level for each. A 20-minute stereo stem is ~420 MB as float32, more than a phone gives a
tab, so the page never decodes a stem whole: it fetches segment *i* of each stem
(``GET /r/<token>/segment/<stem>/<i>.flac``), decodes only that, plays the two side by side and
drops them once played. Segment *i* holds frames ``[i·SEGMENT_FRAMES, (i+1)·SEGMENT_FRAMES)`` of
the stem as decoded (the last one shorter), so the page lays segments end to end on one clock
and both stems line up to the sample.

Why segments served by us and not HTTP Range on the stored file: a byte range of an MP3 does not
decode to a known run of samples (bit reservoir, priming, frames straddling the cut), so seams and
the two stems' alignment would drift; libsndfile (mpg123, gapless, exact seeking) gives the very
frames ffmpeg's full decode gives (``tests/web/test_stem_segments.py`` holds the two equal), and
each segment goes out as 16-bit FLAC: lossless for our 16-bit and MP3 stems alike (quantisation
only, ~96 dB down), about half the bytes of WAV, with an exact length after decoding (no codec
padding). Why not a mix rendered by the server: every level change would restart a stream
(round trip, decoder start) and cost a decoder process per listener; with segments a fader
moves a Web Audio gain at once and the server's work per request is a bounded 5 s decode.

Invariants: a segment's content is a function of (stored file, index) only, so it is cacheable
and the same for both stems' seams; memory per request is one segment (~1.8 MB of float32),
whatever the song's length; an index past the end is ``None`` (a 404), never an empty file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from engine.constants import SAMPLE_RATE

SEGMENT_S = 5  # seconds per segment: a seek waits for one segment of each stem (~2 × 0.7 MB)
SEGMENT_FRAMES = SEGMENT_S * SAMPLE_RATE
SEGMENT_FORMAT = "FLAC"
SEGMENT_SUBTYPE = "PCM_16"
SEGMENT_CONTENT_TYPE = "audio/flac"
# The longest song the page's mixer takes (segment indexes are bounded by it): the service's own
# limit is far below; this only keeps a forged index from being read as a number of any size.
MAX_SEGMENTS = 100_000


@dataclass(frozen=True)
class StemInfo:
    """What the mixer needs to lay out one stem: its length in frames at ``sample_rate``."""

    frames: int
    sample_rate: int
    channels: int

    @property
    def segments(self) -> int:
        return -(-self.frames // SEGMENT_FRAMES)


def stem_info(path: Path) -> StemInfo:
    """The stem's decoded length (libsndfile reads the header; an MP3's is counted by mpg123)."""
    info = sf.info(str(path))
    return StemInfo(int(info.frames), int(info.samplerate), int(info.channels))


def segment(path: Path, index: int) -> bytes | None:
    """Segment ``index`` of the stem at ``path`` as 16-bit FLAC, or None past its end."""
    if not 0 <= index < MAX_SEGMENTS:
        return None
    with sf.SoundFile(str(path)) as stem:
        start = index * SEGMENT_FRAMES
        if start >= stem.frames:
            return None
        stem.seek(start)
        audio = stem.read(min(SEGMENT_FRAMES, stem.frames - start), dtype="float32", always_2d=True)
        rate = stem.samplerate
    out = io.BytesIO()
    sf.write(out, audio, rate, format=SEGMENT_FORMAT, subtype=SEGMENT_SUBTYPE)
    return out.getvalue()
