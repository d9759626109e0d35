"""Error types for audio the engine cannot take, and the base of every user-facing error.

Each carries a short, friendly ``user_message`` so the bots can answer a person without knowing
engine internals, and a stable ``code`` so the job pipeline can record why a job failed and tell
permanent errors (bad input: never retried) from transient ones.
"""

from __future__ import annotations

import math


class UserFacingError(Exception):
    """The one base of every error a person may be told about, engine's and the pipeline's.

    Invariant: ``code`` is stable (it is stored in job records and turned into localised text by
    the bots) and ``user_message`` is friendly text a bot can send as it is — never a traceback.
    ``detail`` (the exception's ``str``) is for logs. Subclasses set class-level defaults; an
    instance may carry a more precise ``user_message``.
    """

    code = "error"
    user_message = "Something went wrong. Please try again."

    def __init__(self, detail: str = "", user_message: str | None = None) -> None:
        super().__init__(detail or self.user_message)
        if user_message is not None:
            self.user_message = user_message


class AudioError(UserFacingError):
    """Base class: the input cannot be separated. Permanent — retrying will not help."""

    code = "bad_audio"
    user_message = "I couldn't read that file as audio. Please send a song (mp3, m4a, flac, wav, ogg)."


class NotAudioError(AudioError):
    code = "not_audio"
    user_message = (
        "That doesn't look like an audio file. Send me a song as mp3, m4a, flac, wav, ogg or a video."
    )


class NoAudioStreamError(AudioError):
    code = "no_audio_stream"
    user_message = "That file has no sound track in it, so there is nothing to separate."


class CorruptAudioError(AudioError):
    code = "corrupt_audio"
    user_message = "That audio file seems damaged — I couldn't decode it. Could you export it again?"


class EmptyAudioError(AudioError):
    code = "empty_audio"
    user_message = "That file contains no audio (it is empty or zero seconds long)."


class SilentAudioError(AudioError):
    code = "silent_audio"
    user_message = "That recording is silent — there are no vocals or music to separate."


def spoken_duration(seconds: int) -> str:
    """Whole seconds in words a person reads at a glance: "20 minutes 10 seconds", "30 seconds",
    "1 hour", "10 hours" (zero parts left out; "0 seconds" only for zero)."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{value} {unit}{'' if value == 1 else 's'}"
        for value, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second"))
        if value
    ]
    return " ".join(parts) or "0 seconds"


class TooLongError(AudioError):
    """The song runs past the limit. The message rounds the song's length up and the limit down
    (whole seconds), so the two never read the same: "20 minutes 10 seconds … up to 20 minutes".
    ``at_least``: decoding stopped at ``duration_s`` (the file declared no length, or a wrong
    one), so the real length is unknown and the message says only that it is longer."""

    code = "too_long"

    def __init__(self, duration_s: float, limit_s: float, *, at_least: bool = False) -> None:
        self.duration_s = duration_s
        self.limit_s = limit_s
        self.at_least = at_least
        limit = spoken_duration(math.floor(limit_s))
        if at_least:
            detail = f"duration over {duration_s:.1f}s, limit {limit_s:.0f}s"
            said = f"That song is longer than the {limit} I can take."
        else:
            detail = f"duration {duration_s:.1f}s over limit {limit_s:.0f}s"
            said = (
                f"That song is {spoken_duration(math.ceil(duration_s))} long; "
                f"I can take up to {limit}."
            )
        super().__init__(detail, user_message=f"{said} Please send a shorter cut.")


class TooLargeError(AudioError):
    code = "too_large"

    def __init__(self, size_bytes: int, limit_bytes: int) -> None:
        self.size_bytes = size_bytes
        self.limit_bytes = limit_bytes
        super().__init__(
            f"size {size_bytes} over limit {limit_bytes}",
            user_message=(
                f"That file is {size_bytes / 1e6:.0f} MB; the limit is {limit_bytes / 1e6:.0f} MB. "
                "Please send a compressed version (mp3 or m4a)."
            ),
        )
