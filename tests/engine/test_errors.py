"""The words of a refusal: lengths a person can check against their song."""

from __future__ import annotations

import pytest

from engine.errors import TooLongError
from texts import text_of
from texts.units import spoken_duration


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 seconds"),
        (1, "1 second"),
        (30, "30 seconds"),
        (60, "1 minute"),
        (1200, "20 minutes"),
        (1210, "20 minutes 10 seconds"),
        (3601, "1 hour 1 second"),
        (36000, "10 hours"),
    ],
)
def test_spoken_duration(seconds: int, words: str) -> None:
    assert spoken_duration(seconds) == words


@pytest.mark.parametrize(
    ("duration_s", "limit_s", "song", "limit"),
    [
        (1210.0, 1200.0, "20 minutes 10 seconds", "20 minutes"),
        (60.0, 30.0, "1 minute", "30 seconds"),
        # Just over the limit: rounded up and down, the two lengths never read the same.
        (1200.2, 1200.0, "20 minutes 1 second", "20 minutes"),
        (10800.0, 1200.0, "3 hours", "20 minutes"),
    ],
)
def test_too_long_message_names_both_lengths(
    duration_s: float, limit_s: float, song: str, limit: str
) -> None:
    message = text_of(TooLongError(duration_s, limit_s))
    assert message.startswith(f"That song is {song} long; I can take up to {limit}.")
