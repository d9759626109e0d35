"""Audio in and out through ffmpeg: probe, decode to float32 44.1 kHz stereo, encode stems, cut previews.

ffmpeg is the one decoder for every input (mp3, m4a/aac, ogg/vorbis, ogg/opus, flac, wav, the audio
track of mp4/webm video) so that there is one behaviour to test. It is always run with an argument
list, never through a shell, so a user's file name cannot become a command.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.constants import CHANNELS, MP3_BITRATE, PREVIEW_FADE_S, SAMPLE_RATE, SILENCE_PEAK
from engine.errors import (
    AudioError,
    CorruptAudioError,
    EmptyAudioError,
    NoAudioStreamError,
    NotAudioError,
    SilentAudioError,
    TooLargeError,
    TooLongError,
)
from engine.settings import engine_settings
from service.limits import MAX_DURATION_S, MAX_FILE_BYTES, OUTPUT_FORMATS

PROBE_TIMEOUT_S = 30
# Decoding a 20-minute song takes a few seconds; this only stops a pathological file.
DECODE_TIMEOUT_S = 300
# Only local files, and only demuxers of real audio/video containers: a playlist format (HLS,
# concat, ...) disguised as a song could otherwise make ffmpeg open other files on the server.
SAFE_INPUT_ARGS = [
    "-protocol_whitelist",
    "file,pipe",
    "-format_whitelist",
    "mp3,mov,matroska,ogg,flac,wav,aac,w64,aiff,caf,asf,amr,ac3,eac3,dts,mpeg,mpegts,avi,flv,wv,"
    "ape,tta,au,voc",
]
# Samples per block when streaming to or from ffmpeg or scanning a song.
BLOCK = 1 << 20
# Audio bombs (a few KB that declare no length, or a false one, and decode to hours): the decode
# buffer is sized from the declared length, with this much slack (share, then seconds) ...
DECLARED_SLACK = 1.1
DECLARED_SLACK_S = 2.0
# ... and a file that decodes past it is measured first, at this many bytes (8-bit mono samples)
# per second of audio: 1.2 kB per 20-minute song instead of 420 MB of float stereo.
MEASURE_RATE = 1000
# A file that decodes to less than this share of its declared length was cut off.
TRUNCATION_RATIO = 0.9
# ffmpeg reports a damaged stream with lines like these; anything else on stderr is only a warning.
_CORRUPTION_MARKERS = (
    "invalid data found",
    "error while decoding",
    "header missing",
    "invalid frame",
    "truncat",
    "corrupt",
    "error submitting packet",
    "packet too small",
    "overread",
)


@dataclass(frozen=True)
class AudioInfo:
    """What ffprobe says about a file before we decode it."""

    duration_s: float
    sample_rate: int
    channels: int
    codec: str
    container: str


def probe(
    path: str | os.PathLike[str],
    max_duration_s: float = MAX_DURATION_S,
    max_bytes: int = MAX_FILE_BYTES,
) -> AudioInfo:
    """Inspect a file without decoding it; raise an :class:`AudioError` subclass if we cannot take it.

    Cheap checks first (size, container, streams, duration) so a 2-hour upload is refused in
    milliseconds instead of after a full decode.
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise EmptyAudioError("file is empty")
    if size > max_bytes:
        raise TooLargeError(size, max_bytes)
    cmd = [
        engine_settings().ffprobe_binary,
        "-v",
        "error",
        *SAFE_INPUT_ARGS,
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "--",
        str(path),
    ]
    try:
        result = subprocess.run(cmd, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as err:
        raise NotAudioError(f"ffprobe took over {PROBE_TIMEOUT_S}s") from err
    if result.returncode != 0:
        raise NotAudioError(result.stderr.decode(errors="replace").strip()[-300:])
    meta = json.loads(result.stdout or b"{}")
    fmt = meta.get("format", {})
    streams = meta.get("streams", [])
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio:
        if not streams or fmt.get("format_name") in {"tty", "txt"}:
            raise NotAudioError("no streams")
        raise NoAudioStreamError("no audio stream")
    stream = audio[0]
    duration = _first_float(stream.get("duration"), fmt.get("duration"))
    if duration is not None and duration > max_duration_s:
        raise TooLongError(duration, max_duration_s)
    if duration is not None and duration <= 0:
        raise EmptyAudioError("zero duration")
    return AudioInfo(
        duration_s=duration if duration is not None else float("nan"),
        sample_rate=int(stream.get("sample_rate") or 0),
        channels=int(stream.get("channels") or 0),
        codec=str(stream.get("codec_name", "")),
        container=str(fmt.get("format_name", "")),
    )


def decode(
    path: str | os.PathLike[str],
    max_duration_s: float = MAX_DURATION_S,
    max_bytes: int = MAX_FILE_BYTES,
    allow_silence: bool = False,
) -> np.ndarray:
    """Decode any supported file to float32 ``(2, samples)`` at 44.1 kHz.

    Mono is duplicated to both channels, more channels are down-mixed by ffmpeg's standard matrix,
    any sample rate is resampled. Raises :class:`AudioError` subclasses for input we cannot use.

    Memory is bounded by the song's real length, never by what its header claims: a file that
    declares hours is refused by :func:`probe`; one that declares nothing is measured first
    (:func:`measure`, no buffer); one that decodes past its declared length (a lying header) is
    stopped there, measured, and decoded again only if it fits. Nothing decodes past the limit.
    """
    info = probe(path, max_duration_s=max_duration_s, max_bytes=max_bytes)
    declared_s = info.duration_s if np.isfinite(info.duration_s) else None
    expected_s = declared_s if declared_s is not None else _length_within(path, max_duration_s)
    cmd = [
        engine_settings().ffmpeg_binary,
        "-nostdin",
        "-v",
        "error",
        *SAFE_INPUT_ARGS,
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
        # One second over the limit is enough to know it is too long if probing could not tell.
        "-t",
        f"{max_duration_s + 1:.3f}",
        "-f",
        "f32le",
        "-acodec",
        "pcm_f32le",
        "-ac",
        str(CHANNELS),
        "-ar",
        str(SAMPLE_RATE),
        "pipe:1",
    ]
    cap_s = max_duration_s + 1.0
    room_s = min(expected_s * DECLARED_SLACK + DECLARED_SLACK_S, cap_s)
    samples, stderr, returncode, overran = _run_decoder(cmd, room_s)
    if overran and room_s >= cap_s:
        raise TooLongError(cap_s, max_duration_s, at_least=True)
    if overran:  # more audio than the file declared: learn its real length before holding it
        del samples
        expected_s = _length_within(path, max_duration_s)
        declared_s = None
        samples, stderr, returncode, overran = _run_decoder(
            cmd, min(expected_s * DECLARED_SLACK + DECLARED_SLACK_S, cap_s)
        )
        if overran:  # decodes differently each time: nothing we can trust
            raise CorruptAudioError("decoder output does not match the measured length")
    if returncode != 0:
        raise CorruptAudioError(stderr[-300:])
    if any(marker in stderr.lower() for marker in _CORRUPTION_MARKERS):
        raise CorruptAudioError(stderr[-300:])
    if samples.size < CHANNELS:
        raise EmptyAudioError("decoded to zero samples")
    # A channels-first view of ffmpeg's interleaved output: no copy, so a 20-minute song costs its
    # 420 MB once. Everything downstream reads it a chunk at a time.
    audio = samples[: samples.size - samples.size % CHANNELS].reshape(-1, CHANNELS).T
    duration = audio.shape[1] / SAMPLE_RATE
    if duration > max_duration_s:
        raise TooLongError(duration, max_duration_s, at_least=duration >= cap_s - 0.01)
    if declared_s is not None and duration < TRUNCATION_RATIO * declared_s - 0.5:
        # The container promised more than the stream holds: a cut-off upload or download.
        raise CorruptAudioError(f"decoded {duration:.1f}s of {declared_s:.1f}s: truncated")
    if not allow_silence and peak(audio) < SILENCE_PEAK:
        raise SilentAudioError("peak below silence threshold")
    return audio


def measure(path: str | os.PathLike[str], cap_s: float) -> float:
    """Seconds of audio the first audio stream really decodes to, counting at most ``cap_s``.

    Decodes to 8-bit mono at ``MEASURE_RATE`` and counts the bytes without keeping them: the
    cost of a decode, the memory of none. Raises :class:`CorruptAudioError` if ffmpeg fails.
    """
    cmd = [
        engine_settings().ffmpeg_binary,
        "-nostdin",
        "-v",
        "error",
        *SAFE_INPUT_ARGS,
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
        "-t",
        f"{cap_s:.3f}",
        "-f",
        "u8",
        "-acodec",
        "pcm_u8",
        "-ac",
        "1",
        "-ar",
        str(MEASURE_RATE),
        "pipe:1",
    ]
    counted = 0
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL)
        # Popen's default pipe (bufsize -1) is buffered, and so has readinto.
        assert isinstance(proc.stdout, io.BufferedReader)
        with _deadline(proc) as expired:
            while chunk := proc.stdout.read(1 << 16):
                counted += len(chunk)
            returncode = proc.wait()
        if expired.is_set() or returncode != 0:
            errors.seek(0)
            raise CorruptAudioError(errors.read().decode(errors="replace").strip()[-300:])
    return counted / MEASURE_RATE


def _length_within(path: str | os.PathLike[str], max_duration_s: float) -> float:
    """The measured length, or :class:`TooLongError` (``at_least``) past ``max_duration_s``."""
    seconds = measure(path, max_duration_s + 1.0)
    if seconds > max_duration_s:
        raise TooLongError(seconds, max_duration_s, at_least=True)
    return seconds


@contextlib.contextmanager
def _deadline(proc: subprocess.Popen[bytes]) -> Iterator[threading.Event]:
    """Kill ``proc`` if it is still running after ``DECODE_TIMEOUT_S`` (a decoder that hangs
    without writing would otherwise block its reader forever); the event says it was killed."""
    expired = threading.Event()

    def kill() -> None:
        expired.set()
        proc.kill()

    timer = threading.Timer(DECODE_TIMEOUT_S, kill)
    timer.daemon = True
    timer.start()
    try:
        yield expired
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _run_decoder(cmd: list[str], room_s: float) -> tuple[np.ndarray, str, int, bool]:
    """Run ffmpeg and read its float32 output straight into one buffer of ``room_s`` seconds.

    Returns the samples, ffmpeg's stderr, its exit code and ``overran``: the output filled the
    buffer (ffmpeg was stopped there; the caller decides what that means). The buffer is one
    ``np.empty`` allocation: pages are only committed as ffmpeg fills them, it never grows or
    copies (``capture_output=True`` would hold a song twice: 1.3 GB instead of 0.4 GB for 20
    minutes), and ffmpeg gets at most ``DECODE_TIMEOUT_S``.
    """
    capacity = max(int(room_s * SAMPLE_RATE) * CHANNELS * 4, 1 << 16)
    buffer = np.empty(capacity, dtype=np.uint8)
    view = buffer.data  # a memoryview of the buffer's bytes
    filled = 0
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL)
        # Popen's default pipe (bufsize -1) is buffered, and so has readinto.
        assert isinstance(proc.stdout, io.BufferedReader)
        with _deadline(proc) as expired:
            while filled < capacity:
                read = proc.stdout.readinto(view[filled:])
                if not read:
                    break
                filled += read
            overran = filled == capacity and bool(proc.stdout.read(1))
            if overran:
                proc.kill()
            returncode = proc.wait()
        errors.seek(0)
        stderr = errors.read().decode(errors="replace").strip()
    if expired.is_set():
        raise CorruptAudioError(f"decoding took over {DECODE_TIMEOUT_S}s")
    usable = filled - filled % 4
    return buffer[:usable].view(np.float32), stderr, 0 if overran else returncode, overran


def peak(audio: np.ndarray) -> float:
    """Largest absolute sample, a block at a time (no song-sized temporary)."""
    return max(
        (float(np.max(np.abs(audio[..., i : i + BLOCK]))) for i in range(0, audio.shape[-1], BLOCK)),
        default=0.0,
    )


def encode(audio: np.ndarray, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """Write ``(channels, samples)`` float audio as wav (16-bit), flac (16-bit) or mp3 (320 kbps)."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"unsupported output format {fmt!r}; choose one of {OUTPUT_FORMATS}")
    codec_args = {
        "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
        "flac": ["-c:a", "flac", "-sample_fmt", "s16", "-f", "flac"],
        "mp3": ["-c:a", "libmp3lame", "-b:a", MP3_BITRATE, "-f", "mp3"],
    }[fmt]
    if audio.ndim == 1:
        audio = audio[None, :]
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        engine_settings().ffmpeg_binary,
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-f",
        "f32le",
        "-ar",
        str(SAMPLE_RATE),
        "-ac",
        str(audio.shape[0]),
        "-i",
        "pipe:0",
        *codec_args,
        str(path),
    ]
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors)
        assert proc.stdin is not None
        try:
            for i in range(0, audio.shape[-1], BLOCK):  # a block at a time: bounded memory
                block = np.clip(audio[:, i : i + BLOCK], -1.0, 1.0).T
                proc.stdin.write(np.ascontiguousarray(block, dtype="<f4").tobytes())
            proc.stdin.close()
            returncode = proc.wait(timeout=DECODE_TIMEOUT_S)
        except BrokenPipeError:
            returncode = proc.wait(timeout=DECODE_TIMEOUT_S) or 1
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if returncode != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace")[-300:]
            raise RuntimeError(f"ffmpeg could not write {path.name}: {message}")
    return path


def preview_cut(
    audio: np.ndarray, start_s: float, length_s: float, fade_s: float = PREVIEW_FADE_S
) -> np.ndarray:
    """Cut ``length_s`` seconds from ``start_s`` with short linear fades so the preview never clicks.

    The window is moved back if it would run past the end, so a short song gives its whole length.
    """
    total = audio.shape[-1]
    length = min(int(round(length_s * SAMPLE_RATE)), total)
    start = min(max(0, int(round(start_s * SAMPLE_RATE))), total - length)
    cut = np.array(audio[..., start : start + length], dtype=np.float32, copy=True)
    fade = min(int(fade_s * SAMPLE_RATE), length // 2)
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        cut[..., :fade] *= ramp
        cut[..., length - fade :] *= ramp[::-1]
    return cut


def content_hash(audio: np.ndarray) -> str:
    """Hash of the decoded audio quantised to 16 bits: the same song re-uploaded (another container,
    another file name) hashes the same, which is what the same-song cache needs."""
    digest = hashlib.sha256()
    for i in range(0, audio.shape[-1], BLOCK):
        block = np.round(np.clip(audio[..., i : i + BLOCK], -1.0, 1.0) * 32767.0).astype("<i2")
        digest.update(np.ascontiguousarray(block).tobytes())
    return digest.hexdigest()


def _first_float(*values: str | float | None) -> float | None:
    """The first value that reads as a finite number (ffprobe writes numbers as strings)."""
    for value in values:
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if np.isfinite(number):
            return number
    return None


__all__ = [
    "AudioError",
    "AudioInfo",
    "content_hash",
    "decode",
    "encode",
    "measure",
    "preview_cut",
    "probe",
]
