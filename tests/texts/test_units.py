"""An expected wait in words: rounded up, never told shorter than the figure it stands for."""

from __future__ import annotations

import pytest

from texts.units import wait_duration


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.0, "5 seconds"),
        (12.0, "15 seconds"),
        (55.1, "1 minute"),
        (61.0, "1 minute 15 seconds"),
        (180.0, "3 minutes"),
    ],
)
def test_wait_duration_rounds_up(seconds: float, words: str) -> None:
    assert wait_duration(seconds) == words
