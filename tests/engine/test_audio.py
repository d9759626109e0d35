"""Decoding every format we promise, refusing every bad input with its own error type, writing stems."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from engine import audio
from engine.constants import SAMPLE_RATE
from engine.errors import (
    CorruptAudioError,
    EmptyAudioError,
    NoAudioStreamError,
    NotAudioError,
    SilentAudioError,
    TooLargeError,
    TooLongError,
)
from texts import text_of

from .conftest import tone_mix


@pytest.mark.parametrize("kind", ["wav", "mp3", "m4a", "ogg", "opus", "flac", "mp4", "webm"])
def test_decodes_every_supported_input(clips: dict[str, Path], kind: str) -> None:
    decoded = audio.decode(clips[kind])
    assert decoded.dtype == np.float32
    assert decoded.shape[0] == 2
    expected = 3.0 if kind in {"mp4", "webm"} else 4.0
    assert abs(decoded.shape[1] / SAMPLE_RATE - expected) < 0.15
    # Both channels carry the song (the right channel is quieter by design).
    assert np.std(decoded[0]) > np.std(decoded[1]) > 0.01


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("empty", EmptyAudioError),
        ("text", NotAudioError),
        ("truncated", CorruptAudioError),
        ("zero", EmptyAudioError),
        ("video_silent", NoAudioStreamError),
        ("silence", SilentAudioError),
        ("long", TooLongError),
    ],
)
def test_bad_input_raises_its_error(clips: dict[str, Path], kind: str, error: type) -> None:
    with pytest.raises(error) as caught:
        audio.decode(clips[kind])
    assert text_of(caught.value)  # every refusal has words a person understands
    assert caught.value.code


def test_over_long_is_refused_by_probe_alone(clips: dict[str, Path]) -> None:
    with pytest.raises(TooLongError) as caught:
        audio.probe(clips["long"])
    assert caught.value.duration_s == pytest.approx(1260, abs=2)
    assert "20 minutes" in text_of(caught.value)


def test_too_large_is_refused(clips: dict[str, Path]) -> None:
    with pytest.raises(TooLargeError):
        audio.probe(clips["wav"], max_bytes=1000)


def test_mono_8k_becomes_identical_stereo_44k(clips: dict[str, Path]) -> None:
    decoded = audio.decode(clips["mono8k"])
    assert decoded.shape == (2, pytest.approx(2 * SAMPLE_RATE, abs=64))
    np.testing.assert_array_equal(decoded[0], decoded[1])


def test_six_channel_96k_is_downmixed_to_stereo_44k(clips: dict[str, Path]) -> None:
    info = audio.probe(clips["six96k"])
    assert (info.channels, info.sample_rate) == (6, 96_000)
    decoded = audio.decode(clips["six96k"])
    assert decoded.shape[0] == 2
    assert abs(decoded.shape[1] - 2 * SAMPLE_RATE) < 64
    assert np.max(np.abs(decoded)) > 0.1


@pytest.mark.apt  # encodes and decodes with ffmpeg
@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3"])
def test_encode_round_trip(tmp_path: Path, fmt: str) -> None:
    original = tone_mix(3.0)
    path = audio.encode(original, tmp_path / f"out.{fmt}")
    back = audio.decode(path)
    if fmt == "mp3":  # encoder delay: compare after aligning by cross-correlation peak
        assert abs(back.shape[1] - original.shape[1]) < 2 * 1152 + 600
        lag = int(np.argmax(np.correlate(back[0, :8000], original[0, :4000], "valid")))
        back = back[:, lag : lag + original.shape[1] - 4000]
        original = original[:, : back.shape[1]]
        assert np.corrcoef(back[0], original[0])[0, 1] > 0.99
    else:
        assert back.shape == original.shape
        np.testing.assert_allclose(back, original, atol=2e-4)
    if fmt == "mp3":
        info = audio.probe(path)
        assert info.codec == "mp3"


def test_preview_cut_has_length_and_fades() -> None:
    song = np.ones((2, SAMPLE_RATE * 40), dtype=np.float32)
    cut = audio.preview_cut(song, 5.0, 30.0, fade_s=0.5)
    assert cut.shape == (2, 30 * SAMPLE_RATE)
    assert cut[0, 0] == 0.0 and cut[0, -1] == 0.0
    assert cut[0, SAMPLE_RATE * 10] == 1.0
    # A start too late slides back so the preview still has its full length.
    late = audio.preview_cut(song, 35.0, 30.0)
    assert late.shape == (2, 30 * SAMPLE_RATE)
    # A song shorter than a preview is given whole.
    assert audio.preview_cut(song[:, : SAMPLE_RATE * 10], 0.0, 30.0).shape[1] == SAMPLE_RATE * 10


def test_content_hash_ignores_container(clips: dict[str, Path]) -> None:
    assert audio.content_hash(audio.decode(clips["wav"])) == audio.content_hash(audio.decode(clips["flac"]))
    assert audio.content_hash(audio.decode(clips["wav"])) != audio.content_hash(audio.decode(clips["mp3"]))


def test_file_names_never_reach_a_shell(tmp_path: Path, clips: dict[str, Path]) -> None:
    hostile = tmp_path / "$(touch pwned); rm -rf x.wav"
    hostile.write_bytes(clips["wav"].read_bytes())
    assert audio.decode(hostile).shape[0] == 2
    assert not (tmp_path / "pwned").exists()
    assert not Path("pwned").exists()


def test_playlists_cannot_make_ffmpeg_read_other_files(tmp_path: Path, clips: dict[str, Path]) -> None:
    """An HLS playlist renamed .mp3 must not pull in another file from the server (plain ffmpeg
    follows it: its segment below is a valid MPEG-TS file)."""
    segment = tmp_path / "secret.ts"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(clips["wav"]),
            "-c:a",
            "aac",
            "-f",
            "mpegts",
            str(segment),
        ],
        check=True,
    )
    hls = tmp_path / "song.mp3"
    hls.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:4,\n{segment}\n#EXT-X-ENDLIST\n")
    plain = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=format_name", str(hls)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "hls" in plain.stdout  # the attack works on an unguarded ffprobe
    with pytest.raises(NotAudioError):
        audio.decode(hls)
