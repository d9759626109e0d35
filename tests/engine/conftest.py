"""Fixtures for engine tests: small audio files generated with ffmpeg and numpy, never real songs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 44_100


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def tone_mix(seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    """A stereo 'song': a vibrato voice-like harmonic tone over low chords and noise hits."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 220 * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voice = sum(np.sin(k * phase) / k for k in range(1, 8)) * 0.15
    bass = 0.2 * np.sin(2 * np.pi * 55 * t) + 0.1 * np.sin(2 * np.pi * 82.5 * t)
    hits = (rng.random(t.size) - 0.5) * 0.2 * (np.sin(2 * np.pi * 2 * t) > 0.95)
    left = voice * 0.8 + bass + hits
    right = voice * 0.6 + bass * 0.9 + hits
    return np.stack([left, right]).astype(np.float32)


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every input kind the engine must take or refuse, generated once per session."""
    d = tmp_path_factory.mktemp("clips")
    wav = d / "song.wav"
    sf.write(wav, tone_mix(4.0).T, SR, subtype="PCM_16")
    files = {"wav": wav}
    for name, args in {
        "mp3": ["-c:a", "libmp3lame", "-b:a", "192k"],
        "m4a": ["-c:a", "aac", "-b:a", "128k"],
        "ogg": ["-c:a", "libvorbis"],
        "opus": ["-c:a", "libopus", "-b:a", "96k"],
        "flac": ["-c:a", "flac"],
    }.items():
        out = d / f"song.{name}"
        ffmpeg("-i", str(wav), *args, str(out))
        files[name] = out
    files["mp4"] = d / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=3", "-i", str(wav),
           "-c:v", "mpeg4", "-c:a", "aac", "-shortest", str(files["mp4"]))
    files["webm"] = d / "clip.webm"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=3", "-i", str(wav),
           "-c:v", "libvpx", "-c:a", "libopus", "-shortest", str(files["webm"]))
    files["video_silent"] = d / "novoice.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=2", "-c:v", "mpeg4",
           str(files["video_silent"]))
    files["empty"] = d / "empty.mp3"
    files["empty"].write_bytes(b"")
    files["text"] = d / "notes.mp3"
    files["text"].write_text("these are my lyrics, not a song\n" * 50)
    files["truncated"] = d / "truncated.mp3"
    data = files["mp3"].read_bytes()
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["zero"] = d / "zero.wav"
    sf.write(files["zero"], np.zeros((0, 2), dtype=np.float32), SR)
    files["mono8k"] = d / "mono8k.wav"
    sf.write(files["mono8k"], tone_mix(2.0, sr=8000)[0], 8000)
    files["six96k"] = d / "six96k.flac"
    six = np.concatenate([tone_mix(2.0, sr=96_000)] * 3).T
    sf.write(files["six96k"], six, 96_000)
    files["silence"] = d / "silence.wav"
    sf.write(files["silence"], np.zeros((SR * 2, 2), dtype=np.float32), SR)
    files["long"] = d / "long.mp3"  # 21 minutes, over the 20-minute default; tiny at 8 kbit/s
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=8000:duration=1260",
           "-c:a", "libmp3lame", "-b:a", "8k", str(files["long"]))
    return files
