"""The preview starts where the voice comes in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.activity import LEAD_IN_S, first_vocal_entry
from engine.evaluate import load_tracks
from engine.predict import load_model, separate

EVAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "eval"


def test_entry_after_a_silent_intro() -> None:
    sr = 44_100
    vocals = np.zeros((2, sr * 20), dtype=np.float32)
    t = np.arange(sr * 8) / sr
    vocals[:, sr * 9 : sr * 17] = 0.3 * np.sin(2 * np.pi * 300 * t)
    vocals[:, sr * 3 : sr * 3 + 2000] = 0.01  # a click of mask residue is not an entry
    assert first_vocal_entry(vocals) == pytest.approx(9.0 - LEAD_IN_S, abs=0.1)


def test_no_voice_starts_at_zero() -> None:
    assert first_vocal_entry(np.zeros((2, 44_100 * 5), dtype=np.float32)) == 0.0
    assert first_vocal_entry(np.zeros((2, 100), dtype=np.float32)) == 0.0


@pytest.mark.apt  # decodes the shared songs with ffmpeg
@pytest.mark.skipif(not EVAL.is_dir(), reason="shared evaluation data not on this machine")
def test_entry_from_predicted_vocals_matches_true_vocals() -> None:
    """On the real eval clips, the entry found in the model's vocals is where the true vocals enter.

    Stems are found whatever their format (the MUSDB clips are WAV, the album excerpts FLAC)."""
    model = load_model()
    tracks = load_tracks(EVAL)
    assert len(tracks) >= 2
    for track in tracks:
        true_entry = first_vocal_entry(track.vocals)
        predicted = separate(track.mixture, model).vocals
        assert abs(first_vocal_entry(predicted) - true_entry) <= 1.0, track.name
