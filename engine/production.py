"""Vocal production as augmentation: what a mixing engineer does to a lead vocal, applied to the
vocal stem of a training remix, the effected vocal being the target.

Why: the clean singing we hold is dry and centred, while the vocals people upload are produced —
doubled, harmonised, thrown into delays, drowned in plate reverb, squashed, filtered — and a model
that never heard those hears them as accompaniment. MUSDB-style stems carry every effect on the
vocal, so the target is the whole effected vocal: echoes and harmonies of the voice are voice.

Each remix of a pool vocal gets, with ``PRODUCTION_SHARE`` probability, a chain of one to
``MAX_EFFECTS`` of the effects below (pedalboard's, i.e. JUCE's, DSP), in the order a mixing
console would run them:
- ``telephone`` — band-pass 0.4–4 kHz with a little drive: the lo-fi verse vocal;
- ``compress`` — heavy compression (4–12:1) with make-up gain;
- ``double`` — one or two copies detuned by a few cents and 10–40 ms late, panned apart;
- ``harmony`` — the lead shifted 3, 4, 5 or 7 semitones (up or down), 6–14 dB quieter, panned;
- ``reverse`` — a reversed fragment of the vocal (a "reverse reverb" swell);
- ``delay`` — a delay throw: echoes at 1/8–1/2 beat lengths with feedback, ping-ponged;
- ``reverb`` — a plate or a hall, wide.

:func:`bus_compress` is the one effect on the whole mix (the mastering bus): it is computed on the
mixture and the same gain curve multiplies both stems, so the mixture is still exactly their sum.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pedalboard as pb
from scipy.signal import lfilter

from engine.constants import SAMPLE_RATE

PRODUCTION_SHARE = 0.5  # of pool vocals in a remix
MAX_EFFECTS = 3
BUS_COMPRESSION_SHARE = 0.3  # of remixes

HARMONY_INTERVALS = (3, 4, 5, 7, -3, -4, -5)  # semitones
HARMONY_DB = (-14.0, -6.0)
DOUBLE_CENTS = (5.0, 25.0)
DOUBLE_DELAY_S = (0.010, 0.040)
DOUBLE_DB = (-9.0, -3.0)
DELAY_S = (0.12, 0.5)
DELAY_FEEDBACK = (0.2, 0.55)
DELAY_MIX = (0.15, 0.4)
REVERB_ROOM = (0.4, 0.95)
REVERB_WET = (0.1, 0.45)
COMPRESSOR_RATIO = (4.0, 12.0)
COMPRESSOR_THRESHOLD_DB = (-30.0, -15.0)
TELEPHONE_LOW_HZ = (300.0, 700.0)
TELEPHONE_HIGH_HZ = (2500.0, 4500.0)
REVERSE_S = (0.3, 1.2)
BUS_RATIO = (2.0, 4.0)
BUS_THRESHOLD_DB = (-12.0, -4.0)  # against the mix's RMS
BUS_ATTACK_S = 0.01
BUS_RELEASE_S = 0.15

Effect = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _db(value: float) -> float:
    return float(10 ** (value / 20))


def _run(board: pb.Pedalboard, audio: np.ndarray) -> np.ndarray:
    """Run a board on ``(channels, samples)`` float32, returning the same shape and length."""
    out = board(np.ascontiguousarray(audio, dtype=np.float32), SAMPLE_RATE)
    if out.shape[-1] < audio.shape[-1]:
        out = np.pad(out, ((0, 0), (0, audio.shape[-1] - out.shape[-1])))
    return out[:, : audio.shape[-1]].astype(np.float32)


def _pan(mono: np.ndarray, position: float) -> np.ndarray:
    """Constant-power pan of ``(samples,)`` to stereo; ``position`` from -1 (left) to 1 (right)."""
    angle = (position + 1) * np.pi / 4
    return np.stack([mono * np.cos(angle), mono * np.sin(angle)]) * np.sqrt(2)


def _late(audio: np.ndarray, seconds: float) -> np.ndarray:
    shift = int(seconds * SAMPLE_RATE)
    return np.pad(audio, ((0, 0), (shift, 0)))[:, : audio.shape[-1]]


def telephone(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    board = pb.Pedalboard(
        [
            pb.HighpassFilter(float(rng.uniform(*TELEPHONE_LOW_HZ))),
            pb.LowpassFilter(float(rng.uniform(*TELEPHONE_HIGH_HZ))),
            pb.Distortion(float(rng.uniform(0.0, 12.0))),
        ]
    )
    return _run(board, audio)


def compress(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    threshold = float(rng.uniform(*COMPRESSOR_THRESHOLD_DB))
    ratio = float(rng.uniform(*COMPRESSOR_RATIO))
    board = pb.Pedalboard(
        [
            pb.Compressor(
                threshold_db=threshold,
                ratio=ratio,
                attack_ms=float(rng.uniform(1, 15)),
                release_ms=float(rng.uniform(50, 250)),
            ),
            pb.Gain(-threshold * (1 - 1 / ratio) / 2),  # make-up gain
        ]
    )
    return _run(board, audio)


def double(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    mono = audio.mean(axis=0)
    out = audio.copy()
    copies = int(rng.integers(1, 3))
    for k in range(copies):
        cents = float(rng.uniform(*DOUBLE_CENTS)) * (1 if k % 2 == 0 else -1)
        shifted = _run(pb.Pedalboard([pb.PitchShift(cents / 100)]), mono[None])[0]
        late = _late(shifted[None], float(rng.uniform(*DOUBLE_DELAY_S)))[0]
        side = -1 if k % 2 == 0 else 1
        out += _pan(late, side * float(rng.uniform(0.5, 1.0))) * _db(rng.uniform(*DOUBLE_DB))
    return out


def harmony(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    interval = int(rng.choice(HARMONY_INTERVALS))
    mono = audio.mean(axis=0)
    shifted = _run(pb.Pedalboard([pb.PitchShift(interval)]), mono[None])[0]
    voice = _pan(shifted, float(rng.uniform(-0.8, 0.8))) * _db(rng.uniform(*HARMONY_DB))
    return audio + voice


def reverse(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = audio.shape[-1]
    width = min(n, int(rng.uniform(*REVERSE_S) * SAMPLE_RATE))
    start = int(rng.integers(0, n - width + 1))
    out = audio.copy()
    fragment = audio[:, start : start + width][:, ::-1]
    fade = np.linspace(0.0, 1.0, width, dtype=np.float32) ** 2  # a swell
    out[:, start : start + width] = fragment * fade
    return out


def delay(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    seconds = float(rng.uniform(*DELAY_S))
    feedback = float(rng.uniform(*DELAY_FEEDBACK))
    mix = float(rng.uniform(*DELAY_MIX))
    left = _run(pb.Pedalboard([pb.Delay(seconds, feedback, mix)]), audio[:1])
    right = _run(pb.Pedalboard([pb.Delay(seconds * float(rng.uniform(1.0, 1.5)), feedback, mix)]), audio[1:2])
    return np.concatenate([left, right])


def reverb(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    wet = float(rng.uniform(*REVERB_WET))
    board = pb.Pedalboard(
        [
            pb.Reverb(
                room_size=float(rng.uniform(*REVERB_ROOM)),
                damping=float(rng.uniform(0.2, 0.7)),
                wet_level=wet,
                dry_level=1 - wet / 2,
                width=1.0,
            ),
        ]
    )
    return _run(board, audio)


# Console order: insert effects first, then the sends (delay, reverb) on what they produce.
EFFECTS: tuple[tuple[str, Effect], ...] = (
    ("telephone", telephone),
    ("compress", compress),
    ("double", double),
    ("harmony", harmony),
    ("reverse", reverse),
    ("delay", delay),
    ("reverb", reverb),
)


def produce(vocals: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random production chain on a stereo vocal ``(2, samples)``; same shape, float32."""
    count = int(rng.integers(1, MAX_EFFECTS + 1))
    chosen = sorted(rng.choice(len(EFFECTS), size=count, replace=False))
    out = vocals
    for index in chosen:
        out = EFFECTS[index][1](out, rng)
    peak = float(np.max(np.abs(out))) + 1e-9
    if peak > 4.0 * (float(np.max(np.abs(vocals))) + 1e-9):  # runaway feedback: scale back
        out = out * (float(np.max(np.abs(vocals))) / peak)
    return out.astype(np.float32)


def bus_compress(
    vocals: np.ndarray, accompaniment: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Mastering-bus compression: one gain curve, computed on the mix, applied to both stems, so
    the mixture stays exactly their sum (see the module docstring)."""
    mix = (vocals + accompaniment).mean(axis=0)
    power = mix.astype(np.float64) ** 2
    rms = np.sqrt(np.mean(power)) + 1e-12
    attack = np.exp(-1 / (BUS_ATTACK_S * SAMPLE_RATE))
    release = np.exp(-1 / (BUS_RELEASE_S * SAMPLE_RATE))
    # Two one-pole followers (fast attack, slow release) on the power; take the louder.
    fast = lfilter([1 - attack], [1, -attack], power)
    slow = lfilter([1 - release], [1, -release], power)
    level_db = 10 * np.log10(np.maximum(fast, slow) + 1e-12) - 20 * np.log10(rms)
    threshold = rng.uniform(*BUS_THRESHOLD_DB)
    ratio = rng.uniform(*BUS_RATIO)
    over = np.maximum(level_db - threshold, 0.0)
    gain = (10 ** (-over * (1 - 1 / ratio) / 20)).astype(np.float32)
    return vocals * gain, accompaniment * gain
