"""engine.analysis: tempo, key and beats from audio (issue 23)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis import (
    MAJOR,
    MINOR,
    Analysis,
    AnalysisError,
    Key,
    analyse,
    mirex_score,
)

SR = 44_100


def click_track(bpm: float, seconds: float) -> np.ndarray:
    """Short Hann-windowed clicks, stereo."""
    audio = np.zeros(int(seconds * SR), dtype=np.float32)
    click = np.hanning(200).astype(np.float32)
    for start in np.arange(0.0, seconds - 0.01, 60.0 / bpm):
        i = int(start * SR)
        audio[i : i + click.size] = click
    return np.stack([audio, audio])


def chord(midi_notes: list[int], seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    tones = [
        sum(np.sin(2 * np.pi * h * 440.0 * 2 ** ((n - 69) / 12) * t) / h for h in (1, 2, 3))
        for n in midi_notes
    ]
    return (np.sum(tones, axis=0) * np.exp(-2.0 * t) / len(midi_notes)).astype(np.float32)


def test_click_track_at_120_bpm_reads_120() -> None:
    result = analyse(click_track(120.0, 30.0), SR)
    assert result.bpm == pytest.approx(120.0, abs=1.0)
    # The beat grid is the clicks: every half second.
    assert np.median(np.diff(result.beats)) == pytest.approx(0.5, abs=0.02)


def test_cadence_in_e_minor_reads_e_minor() -> None:
    tonic = [40, 52, 55, 59, 64]  # E minor
    subdominant = [45, 57, 60, 64, 69]  # A minor
    dominant = [47, 54, 59, 63, 66]  # B major (the raised leading tone D#)
    cadence = np.concatenate([chord(c, 1.0) for c in [tonic, subdominant, dominant, tonic] * 4])
    result = analyse(cadence, SR)
    assert result.key == Key(4, MINOR)
    assert result.camelot == "9A"
    assert result.key_confidence > 0


def test_camelot_codes() -> None:
    assert Key(9, MINOR).camelot == "8A"
    assert Key(0, MAJOR).camelot == "8B"
    assert Key(7, MAJOR).camelot == "9B"
    assert Key(5, MAJOR).camelot == "7B"
    assert Key(11, MAJOR).camelot == "1B"
    assert Key(8, MINOR).camelot == "1A"
    assert Key(9, MINOR).transposed(2) == Key(11, MINOR)


def test_mirex_weights() -> None:
    a_minor = Key(9, MINOR)
    assert mirex_score(a_minor, a_minor) == 1.0
    assert mirex_score(Key(4, MINOR), a_minor) == 0.5  # a fifth up
    assert mirex_score(Key(2, MINOR), a_minor) == 0.5  # a fifth down
    assert mirex_score(Key(0, MAJOR), a_minor) == 0.3  # the relative
    assert mirex_score(Key(9, MAJOR), a_minor) == 0.2  # the parallel
    assert mirex_score(Key(1, MAJOR), a_minor) == 0.0


def test_round_trips_through_json() -> None:
    result = analyse(click_track(100.0, 10.0), SR)
    assert Analysis.from_json(result.to_json()).key == result.key
    assert Analysis.from_json(result.to_json()).bpm == pytest.approx(result.bpm, abs=0.01)


def test_silence_and_too_short_audio_are_refused() -> None:
    with pytest.raises(AnalysisError):
        analyse(np.zeros((2, SR * 5), dtype=np.float32), SR)
    with pytest.raises(AnalysisError):
        analyse(click_track(120.0, 1.0), SR)
