"""Error types for audio the engine cannot take.

Each is a :class:`service.errors.UserFacingError`: a stable ``code`` (so the job pipeline can
record why a job failed and tell permanent errors — bad input, never retried — from transient
ones) and the figures its words need as parameters; the words are the text catalogue's
(``texts.error_text``), so the engine holds none.
"""

from __future__ import annotations

from service.errors import ErrorCode, UserFacingError

__all__ = [
    "AudioError",
    "CorruptAudioError",
    "EmptyAudioError",
    "NoAudioStreamError",
    "NotAudioError",
    "SilentAudioError",
    "TooLargeError",
    "TooLongError",
    "UserFacingError",
]


class AudioError(UserFacingError):
    """Base class: the input cannot be separated. Permanent — retrying will not help."""

    code = ErrorCode.BAD_AUDIO


class NotAudioError(AudioError):
    code = ErrorCode.NOT_AUDIO


class NoAudioStreamError(AudioError):
    code = ErrorCode.NO_AUDIO_STREAM


class CorruptAudioError(AudioError):
    code = ErrorCode.CORRUPT_AUDIO


class EmptyAudioError(AudioError):
    code = ErrorCode.EMPTY_AUDIO


class SilentAudioError(AudioError):
    code = ErrorCode.SILENT_AUDIO


class TooLongError(AudioError):
    """The song runs past the limit (``duration_s`` over ``limit_s``). ``at_least``: decoding
    stopped at ``duration_s`` (the file declared no length, or a wrong one), so the real length
    is unknown and the words say only that it is longer."""

    code = ErrorCode.TOO_LONG
    duration_s: float
    limit_s: float
    at_least: bool

    def __init__(self, duration_s: float, limit_s: float, *, at_least: bool = False) -> None:
        detail = (
            f"duration over {duration_s:.1f}s, limit {limit_s:.0f}s"
            if at_least
            else f"duration {duration_s:.1f}s over limit {limit_s:.0f}s"
        )
        super().__init__(
            detail,
            duration_s=duration_s,
            limit_s=limit_s,
            at_least=at_least,
        )


class TooLargeError(AudioError):
    code = ErrorCode.TOO_LARGE
    size_bytes: int
    limit_bytes: int

    def __init__(self, size_bytes: int, limit_bytes: int) -> None:
        super().__init__(
            f"size {size_bytes} over limit {limit_bytes}",
            size_bytes=size_bytes,
            limit_bytes=limit_bytes,
        )
