"""Short synthetic test songs and bad inputs, made with numpy and ffmpeg in seconds.

A "song" is an instrumental bed (bass, chords, a hi-hat of noise) with a sung-like line (a
harmonic tone with vibrato and a formant-ish spectrum) entering after an intro, so the preview's
"start at the first vocal entry" has something to find.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.audio import encode
from engine.constants import SAMPLE_RATE


def synth_song(seconds: float = 6.0, vocal_entry_s: float = 2.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    root = 110.0 * (1 + 0.05 * seed)
    bass = 0.25 * np.sin(2 * np.pi * root * t)
    chord = sum(0.08 * np.sin(2 * np.pi * root * 2 * r * t) for r in (1.0, 1.26, 1.5))
    hat = 0.03 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 4 * t) > 0.9)
    f0 = root * 4 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voice = sum((0.15 / k) * np.sin(k * phase) for k in range(1, 8))
    voice = voice * (t >= vocal_entry_s) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t) ** 2)
    left = bass + chord + hat + 0.9 * voice
    right = bass + 0.8 * chord + hat + voice
    return np.stack([left, right]).astype(np.float32)


def write_song(path: Path, seconds: float = 6.0, seed: int = 0) -> Path:
    return encode(synth_song(seconds, seed=seed), path)


def write_voice_note(path: Path, source: Path) -> Path:
    """What Telegram records for a voice message: mono Opus in Ogg."""
    _ffmpeg("-i", str(source), "-ac", "1", "-c:a", "libopus", "-b:a", "32k", str(path))
    return path


def write_text_file(path: Path) -> Path:
    path.write_text("These are the lyrics, not the song.\n" * 20)
    return path


def write_corrupt_mp3(path: Path, good_mp3: Path) -> Path:
    """A real mp3 whose frames were overwritten: the header probes fine, decoding fails."""
    data = bytearray(good_mp3.read_bytes())
    rng = np.random.default_rng(1)
    start = 2000
    data[start : len(data) - 2000] = rng.integers(0, 256, len(data) - 4000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def write_empty_file(path: Path) -> Path:
    """Zero bytes, as a failed upload or export leaves behind."""
    path.write_bytes(b"")
    return path


def write_zero_length_wav(path: Path) -> Path:
    """A well-formed WAV header with no samples in it."""
    sf.write(path, np.zeros((0, 2), dtype=np.float32), SAMPLE_RATE)
    return path


def write_silence(path: Path, seconds: float = 4.0) -> Path:
    """A real, decodable recording of digital silence."""
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", str(seconds), str(path))
    return path


def write_converted(path: Path, source: Path, rate: int, channels: int) -> Path:
    """``source`` at another sample rate and channel count (mono, 8 kHz phone audio, 96 kHz 5.1):
    unusual, but good audio the bot must take."""
    _ffmpeg("-i", str(source), "-ar", str(rate), "-ac", str(channels), str(path))
    return path


def write_large_short_wav(path: Path, seconds: float = 4.3) -> Path:
    """About 26 MB of real audio in 4.3 s: 8 channels of 32-bit float at 192 kHz."""
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"sine=f=330:r=192000:d={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"sine=f=660:r=192000:d={seconds}",
        "-filter_complex",
        "[0][1]amerge=inputs=2,pan=7.1|c0=c0|c1=c1|c2=c0|c3=c1|c4=c0|c5=c1|c6=c0|c7=c1",
        "-c:a",
        "pcm_f32le",
        str(path),
    )
    return path


def write_long_flac(path: Path, seconds: float = 7200.0) -> Path:
    """Two hours of near-silent 8 kHz mono FLAC: a real 2-hour file of about 1 MB."""
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(seconds), "-c:a", "flac", str(path))
    return path


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=60)
