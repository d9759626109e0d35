"""Audio bombs: a few KB that declare, or decode to, hours. Each is refused with the "too long"
message, and nothing holds more than a short song's worth of memory on the way.

Memory is measured with ``tracemalloc`` (numpy reports its buffers to it): before the bounded
decoder, the files without an honest length reached the 420 MB buffer of a 20-minute song.
"""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import pytest

from engine import audio
from engine.constants import SAMPLE_RATE
from engine.errors import TooLongError
from service.limits import MAX_DURATION_S
from texts import text_of

from .conftest import ffmpeg

# Far below the 424 MB a 20-minute decode holds, far above what refusing costs (a few MB).
BOMB_PEAK_BYTES = 40 * 1024 * 1024
SILENT_8K = ("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono")


def _flac_without_length(source: Path, path: Path) -> Path:
    """The FLAC with STREAMINFO's total-samples field zeroed ("unknown"): ffprobe reports no
    duration, so only decoding can tell."""
    data = bytearray(source.read_bytes())
    assert data[:4] == b"fLaC"
    fields = int.from_bytes(data[18:26], "big") & ~((1 << 36) - 1)
    data[18:26] = fields.to_bytes(8, "big")
    path.write_bytes(data)
    return path


def _xing_frames(source: Path, path: Path, frames: int) -> Path:
    """The MP3 with its Xing/Info header's frame count replaced by ``frames``."""
    data = bytearray(source.read_bytes())
    at = max(data.find(b"Xing"), data.find(b"Info"))
    assert at > 0 and struct.unpack(">I", data[at + 4 : at + 8])[0] & 1  # frame count present
    data[at + 8 : at + 12] = struct.pack(">I", frames)
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bombs")
    flac = root / "3h-silence.flac"  # 26 KB: one 65535-sample frame is a few bytes of silence
    ffmpeg(*SILENT_8K, "-t", "10800", "-c:a", "flac", "-frame_size", "65535", str(flac))
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:r=44100",
        "-t",
        "1",
        "-ac",
        "2",
        "-c:a",
        "pcm_s16le",
        str(root / "1s.wav"),
    )
    wav = bytearray((root / "1s.wav").read_bytes())
    wav[24:28] = struct.pack("<I", 2)  # 2 samples a second: one second of data "is" 6 hours
    wav[28:32] = struct.pack("<I", 8)
    (root / "6h-header.wav").write_bytes(wav)
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:r=44100", "-t", "2", "-c:a", "libmp3lame", str(root / "2s.mp3"))
    ffmpeg(*SILENT_8K, "-t", "3600", "-c:a", "libmp3lame", "-b:a", "8k", str(root / "1h.mp3"))
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:r=8000",
        "-t",
        "60",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "8k",
        str(root / "60s.mp3"),
    )
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=1:duration=1",
        *SILENT_8K,
        "-t",
        "36000",
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "mpeg4",
        "-c:a",
        "flac",
        "-frame_size",
        "65535",
        str(root / "10h-audio.mkv"),
    )
    return {
        "flac_3h": flac,
        "flac_3h_no_length": _flac_without_length(flac, root / "3h-no-length.flac"),
        "wav_header_6h": root / "6h-header.wav",
        "mp3_xing_says_300h": _xing_frames(root / "2s.mp3", root / "says-300h.mp3", 10_000_000),
        "mp3_xing_says_4s_is_1h": _xing_frames(root / "1h.mp3", root / "says-4s.mp3", 50),
        "video_10h_audio": root / "10h-audio.mkv",
        "mp3_xing_says_4s_is_60s": _xing_frames(root / "60s.mp3", root / "60s-says-4s.mp3", 50),
    }


BOMBS = [
    "flac_3h",
    "flac_3h_no_length",
    "wav_header_6h",
    "mp3_xing_says_300h",
    "mp3_xing_says_4s_is_1h",
    "video_10h_audio",
]
# These declare their hours: ffprobe's answer alone refuses them, nothing is decoded.
DECLARED = ["flac_3h", "wav_header_6h", "mp3_xing_says_300h", "video_10h_audio"]


@pytest.mark.parametrize("name", BOMBS)
def test_bomb_is_refused_as_too_long_in_bounded_memory(bombs: dict[str, Path], name: str) -> None:
    assert bombs[name].stat().st_size < 4_000_000  # small files, all of them
    tracemalloc.start()
    try:
        with pytest.raises(TooLongError) as caught:
            audio.decode(bombs[name])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < BOMB_PEAK_BYTES
    message = text_of(caught.value)
    assert message.startswith("That song is") and "I can take" in message and "20 minutes" in message


@pytest.mark.parametrize("name", DECLARED)
def test_declared_hours_are_refused_by_probe_alone(bombs: dict[str, Path], name: str) -> None:
    with pytest.raises(TooLongError) as caught:
        audio.probe(bombs[name])
    assert caught.value.duration_s > 3 * 3600 - 1 and not caught.value.at_least


@pytest.mark.parametrize("name", ["flac_3h_no_length", "mp3_xing_says_4s_is_1h"])
def test_undeclared_hours_are_measured_not_held(bombs: dict[str, Path], name: str) -> None:
    """No honest length: the decoder stops where the file's claim ends (or never starts), the
    length is counted at 1 kHz, and the message says only "longer than" (decoding stopped)."""
    with pytest.raises(TooLongError) as caught:
        audio.decode(bombs[name])
    assert caught.value.at_least
    assert text_of(caught.value).startswith("That song is longer than the 20 minutes")
    assert audio.measure(bombs[name], MAX_DURATION_S + 1) == pytest.approx(MAX_DURATION_S + 1, abs=0.1)


def test_a_header_that_undersells_a_short_song_still_decodes(bombs: dict[str, Path]) -> None:
    """Xing says 4 s, the stream holds 60 s: measured, decoded again into the right size, whole."""
    path = bombs["mp3_xing_says_4s_is_60s"]
    assert audio.probe(path).duration_s < 5
    decoded = audio.decode(path)
    assert decoded.shape[1] / SAMPLE_RATE == pytest.approx(60, abs=0.2)


def test_a_wav_whose_data_size_overstates_decodes_what_is_there(bombs: dict[str, Path]) -> None:
    """The other lie a WAV header tells (a data chunk "of 4 GB" in a 176 KB file): ffmpeg bounds
    it by the file, so it is the 1-second song it really is."""
    wav = bytearray((bombs["wav_header_6h"].parent / "1s.wav").read_bytes())
    at = wav.find(b"data")
    wav[at + 4 : at + 8] = struct.pack("<I", 0xFFFFFFF0)
    wav[4:8] = struct.pack("<I", 0xFFFFFFF8)
    path = bombs["wav_header_6h"].parent / "4gb-data.wav"
    path.write_bytes(wav)
    assert audio.decode(path).shape[1] == SAMPLE_RATE
