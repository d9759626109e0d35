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
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=10:duration=3",
        "-i",
        str(wav),
        "-c:v",
        "mpeg4",
        "-c:a",
        "aac",
        "-shortest",
        str(files["mp4"]),
    )
    files["webm"] = d / "clip.webm"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=10:duration=3",
        "-i",
        str(wav),
        "-c:v",
        "libvpx",
        "-c:a",
        "libopus",
        "-shortest",
        str(files["webm"]),
    )
    files["video_silent"] = d / "novoice.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=10:duration=2",
        "-c:v",
        "mpeg4",
        str(files["video_silent"]),
    )
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
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=300:sample_rate=8000:duration=1260",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "8k",
        str(files["long"]),
    )
    return files


def voice(seconds: float, f0: float, rng: np.random.Generator) -> np.ndarray:
    """A gated, vibrato harmonic tone: something a mask can tell from the band."""
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5.5 * t))) / SR
    gate = (np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6)) > -0.3).astype(np.float32)
    return (sum(np.sin(k * phase) / k for k in range(1, 10)) * 0.2 * gate).astype(np.float32)


def band(seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    drums = rng.normal(0, 0.1, t.size) * np.exp(-((t * 2) % 1) * 20)
    bass = 0.2 * np.sin(2 * np.pi * rng.choice([41.2, 55.0, 61.7]) * t)
    return (drums + bass).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pairs (two 'singers', one held out for validation as MIR-1K names are; a stereo produced
    song held out by name), and both pools."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for name in ("amy_1_01", "amy_1_02", "leon_2_01", "abjones_3_01"):
        clip = root / "pairs" / name
        clip.mkdir(parents=True)
        sf.write(clip / "vocals.wav", voice(4.0, rng.uniform(180, 400), rng), SR)
        sf.write(clip / "accompaniment.wav", band(4.0, rng), SR)
    song = root / "pairs" / "album" / "Potassium"
    song.mkdir(parents=True)
    sf.write(song / "vocals.wav", np.stack([voice(7.0, 220, rng), voice(7.0, 220, rng)]).T, SR)
    sf.write(song / "accompaniment.wav", np.stack([band(7.0, rng), band(7.0, rng)]).T, SR)
    (root / "vocals" / "solo").mkdir(parents=True)
    sf.write(root / "vocals" / "solo" / "a.wav", voice(5.0, 300, rng), SR)
    song = root / "instrumental" / "band" / "song1"
    song.mkdir(parents=True)
    sf.write(song / "drums.wav", np.stack([band(5.0, rng)] * 2).T, SR)
    sf.write(song / "bass.wav", np.stack([band(5.0, rng)] * 2).T, SR)
    return root
