"""Augmentations that make a few hours of stems look like many songs.

Applied to each stem of a training remix before the two are mixed, so the targets stay exact
(the mixture is always the sum of its augmented stems). What each one stands for in a real record:
- ``speed`` — resampling by up to ±2 semitones: another singer's pitch and tempo;
- ``equalize`` — a smooth random EQ curve: another microphone, room or mastering;
- ``reverb`` — a synthetic decaying-noise impulse response: the reverb every produced vocal has
  (MIR-1K's karaoke vocals are bone dry, real records almost never are);
- ``saturate`` — soft-knee saturation: compressed, loud, modern production;
- ``gaps`` — silence cut into the vocal: verses with pauses, so the mask learns to close.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve

from engine.constants import SAMPLE_RATE

SPEED_RANGE = (0.89, 1.12)  # ±2 semitones
EQ_POINTS = 6
EQ_DB = 6.0
REVERB_RT60_S = (0.2, 1.5)
REVERB_WET = (0.05, 0.35)
SATURATION_DRIVE = (1.0, 4.0)
GAP_S = (0.3, 1.5)

# Probability of each augmentation for vocals and for instrumentals.
VOCAL_PROBS = {"speed": 0.5, "equalize": 0.5, "reverb": 0.5, "saturate": 0.25, "gaps": 0.3}
INSTRUMENTAL_PROBS = {"speed": 0.3, "equalize": 0.5, "reverb": 0.0, "saturate": 0.2, "gaps": 0.0}


def speed(audio: np.ndarray, factor: float, length: int) -> np.ndarray:
    """Read ``audio`` at ``factor`` times its speed and return ``length`` samples.

    Linear interpolation: cheap enough to run per example, and its slight high-frequency loss is
    itself a plausible variation."""
    positions = np.arange(length) * factor
    positions = positions[positions <= audio.shape[-1] - 1]
    index = np.arange(audio.shape[-1])
    out = np.zeros((audio.shape[0], length), dtype=np.float32)
    for c in range(audio.shape[0]):
        out[c, : positions.size] = np.interp(positions, index, audio[c])
    return out


def equalize(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(audio, axis=-1)
    freqs = np.fft.rfftfreq(audio.shape[-1], 1 / SAMPLE_RATE)
    anchors = np.geomspace(60, SAMPLE_RATE / 2, EQ_POINTS)
    gains_db = rng.uniform(-EQ_DB, EQ_DB, EQ_POINTS)
    curve = np.interp(np.log(np.maximum(freqs, 1.0)), np.log(anchors), gains_db)
    return np.fft.irfft(spectrum * 10 ** (curve / 20), n=audio.shape[-1], axis=-1).astype(np.float32)


def reverb(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rt60 = rng.uniform(*REVERB_RT60_S)
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    decay = np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    ir = rng.normal(0, 1, (audio.shape[0], n)) * decay
    ir /= np.sqrt(np.sum(ir**2, axis=-1, keepdims=True)) + 1e-9
    wet = np.stack([fftconvolve(audio[c], ir[c])[: audio.shape[-1]] for c in range(audio.shape[0])])
    mix = rng.uniform(*REVERB_WET)
    return ((1 - mix) * audio + mix * wet).astype(np.float32)


def saturate(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    peak = float(np.max(np.abs(audio))) + 1e-9
    drive = rng.uniform(*SATURATION_DRIVE)
    return (np.tanh(drive * audio / peak) / np.tanh(drive) * peak).astype(np.float32)


def gaps(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = audio.copy()
    n = audio.shape[-1]
    for _ in range(int(rng.integers(1, 3))):
        width = min(n, int(rng.uniform(*GAP_S) * SAMPLE_RATE))
        start = int(rng.integers(0, n - width + 1))
        fade = min(512, width // 2)
        env = np.ones(width, dtype=np.float32)
        env[fade : -fade or None] = 0.0
        env[:fade] = np.linspace(1, 0, fade)
        env[width - fade :] = np.linspace(0, 1, fade)
        out[:, start : start + width] *= env
    return out


def augment(audio: np.ndarray, probs: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """Apply the non-resampling augmentations with their probabilities (speed is applied when the
    segment is read, see ``engine.data``)."""
    if rng.random() < probs["equalize"]:
        audio = equalize(audio, rng)
    if rng.random() < probs["reverb"]:
        audio = reverb(audio, rng)
    if rng.random() < probs["saturate"]:
        audio = saturate(audio, rng)
    if rng.random() < probs["gaps"]:
        audio = gaps(audio, rng)
    return audio
