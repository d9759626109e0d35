"""Vocal production augmentation: every effect keeps the stem's shape and stays finite; the effects
do what they are named for; bus compression keeps the mixture the sum of its stems."""

from __future__ import annotations

import numpy as np
import pytest

from engine import production
from engine.constants import SAMPLE_RATE


def _vocal(seconds: float = 3.0, f0: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6)) * 0.1
    gate = (np.sin(2 * np.pi * 1.5 * t) > 0).astype(np.float64)  # phrases and pauses
    mono = (tone * gate).astype(np.float32)
    return np.stack([mono, mono])  # a centred lead


def _pitch(signal: np.ndarray) -> float:
    """Strongest spectral peak in Hz."""
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    return float(np.argmax(spectrum) * SAMPLE_RATE / signal.size)


@pytest.mark.parametrize("name", [name for name, _ in production.EFFECTS])
def test_each_effect_keeps_shape_and_is_finite(name: str) -> None:
    effect = dict(production.EFFECTS)[name]
    vocal = _vocal()
    out = effect(vocal, np.random.default_rng(1))
    assert out.shape == vocal.shape
    assert np.all(np.isfinite(out))
    assert not np.allclose(out, vocal, atol=1e-4), f"{name} changed nothing"


def test_double_and_harmony_move_voice_off_centre() -> None:
    """A centred lead has no side signal; doubles and harmonies panned apart create one."""
    vocal = _vocal()
    for effect in (production.double, production.harmony):
        out = effect(vocal, np.random.default_rng(3))
        side = np.sum((out[0] - out[1]) ** 2) / np.sum((out[0] + out[1]) ** 2)
        assert side > 1e-3, effect.__name__


def test_harmony_sounds_at_the_interval() -> None:
    vocal = _vocal(f0=220.0)
    rng = np.random.default_rng(0)
    interval = int(np.random.default_rng(0).choice(production.HARMONY_INTERVALS))
    added = production.harmony(vocal, rng) - vocal
    expected = 220.0 * 2 ** (interval / 12)
    assert _pitch(added.mean(axis=0)) == pytest.approx(expected, rel=0.03)


def test_delay_echoes_after_the_voice_stops() -> None:
    vocal = _vocal()
    vocal[:, SAMPLE_RATE:] = 0.0  # one phrase, then silence
    out = production.delay(vocal, np.random.default_rng(2))
    tail = out[:, int(1.2 * SAMPLE_RATE) : int(2.5 * SAMPLE_RATE)]
    assert np.sqrt(np.mean(tail**2)) > 1e-3


@pytest.mark.slow  # seconds of CPU: keeps the fast tier under a minute on 2 cores
def test_produce_stays_bounded() -> None:
    vocal = _vocal()
    rng = np.random.default_rng(5)
    for _ in range(20):
        out = production.produce(vocal, rng)
        assert out.shape == vocal.shape and out.dtype == np.float32
        assert np.max(np.abs(out)) <= 4.0 * np.max(np.abs(vocal)) + 1e-6


def test_bus_compression_keeps_the_mixture_the_sum_and_tames_peaks() -> None:
    rng = np.random.default_rng(0)
    vocals = _vocal()
    acc = rng.normal(0, 0.05, vocals.shape).astype(np.float32)
    acc[:, SAMPLE_RATE : SAMPLE_RATE + 4000] *= 20  # a loud hit
    v, a = production.bus_compress(vocals, acc, rng)
    assert v.shape == vocals.shape and a.shape == acc.shape
    # The same gain on both stems: each sample's ratio is the same for vocals and accompaniment.
    gain_v = v[vocals != 0] / vocals[vocals != 0]
    gain_a = a[vocals != 0] / acc[vocals != 0]
    np.testing.assert_allclose(gain_v, gain_a, rtol=1e-4)
    assert np.max(np.abs(v + a)) < np.max(np.abs(vocals + acc))
    assert np.all((gain_a > 0) & (gain_a <= 1 + 1e-6))
