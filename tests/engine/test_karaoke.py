"""Karaoke rendering on generated audio: key shift measured in cents, tempo measured in length and
in where the notes fall, guide-vocal level measured in dB, the headroom rule, the settings form."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import AudioError
from engine.karaoke import (
    MAX_FORM_CHARS,
    PEAK_CEILING,
    TEMPO_CHOICES,
    KaraokeSettings,
    KaraokeSettingsError,
    render,
)
from texts import text_of

SR = 44_100
F0 = 220.0


def harmonic_tone(f0: float = F0, seconds: float = 4.0, level: float = 0.3) -> np.ndarray:
    """A stereo (2, samples) tone with five harmonics (1/k amplitudes), right a little quieter."""
    t = np.arange(int(seconds * SR)) / SR
    mono = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
    mono = level * mono / np.max(np.abs(mono))
    return np.stack([mono, 0.8 * mono]).astype(np.float32)


def pitch_hz(audio: np.ndarray, lo: float = 80.0, hi: float = 1000.0) -> float:
    """The strongest spectral peak in [lo, hi] Hz of the channel mean, over the middle of the
    signal (edges trimmed), Hann window, parabolic interpolation on the log magnitude: a few cents
    at these lengths. For the tones here the fundamental is the strongest partial."""
    mono = audio.mean(axis=0)
    trim = len(mono) // 8
    x = mono[trim : len(mono) - trim].astype(np.float64)
    n = 1 << int(np.ceil(np.log2(len(x)))) + 1  # zero-padded: finer bins for the interpolation
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n)) + 1e-12
    freqs = np.fft.rfftfreq(n, 1 / SR)
    band = np.flatnonzero((freqs >= lo) & (freqs <= hi))
    k = band[np.argmax(spectrum[band])]
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return float((k + offset) * SR / n)


def cents(measured: float, reference: float) -> float:
    return 1200 * np.log2(measured / reference)


def rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)))


@pytest.fixture(scope="module")
def tone() -> np.ndarray:
    return harmonic_tone()


def test_the_pitch_estimate_is_sharp_enough_to_trust(tone: np.ndarray) -> None:
    assert abs(cents(pitch_hz(tone), F0)) < 1
    assert abs(cents(pitch_hz(harmonic_tone(F0 * 2 ** (1 / 12))), F0) - 100) < 1


@pytest.mark.parametrize("semitones", [2, -3, 6, -6])
def test_key_shift_moves_the_pitch_and_keeps_the_length(tone: np.ndarray, semitones: int) -> None:
    out = render(tone, np.zeros_like(tone), SR, KaraokeSettings(semitones=semitones))
    assert out.shape[0] == 2 and out.dtype == np.float32
    assert abs(out.shape[1] - tone.shape[1]) <= 0.005 * SR  # within 5 ms
    assert abs(cents(pitch_hz(out), F0) - 100 * semitones) < 10
    assert np.max(np.abs(out)) > 0.1  # not faded out or silenced


def bursts(seconds: float, period_s: float = 0.5, on_s: float = 0.2) -> np.ndarray:
    """Tone bursts every ``period_s``: notes whose onsets show where the tempo puts them."""
    audio = harmonic_tone(seconds=seconds)
    t = np.arange(audio.shape[1]) / SR
    return (audio * ((t % period_s) < on_s)).astype(np.float32)


def onsets_s(audio: np.ndarray) -> np.ndarray:
    """Rising edges of a 10 ms RMS envelope through half its maximum, in seconds."""
    hop = SR // 100
    frames = audio.mean(axis=0)[: audio.shape[1] // hop * hop].reshape(-1, hop)
    env = np.sqrt(np.mean(frames**2, axis=1))
    loud = env > 0.5 * env.max()
    return np.flatnonzero(loud[1:] & ~loud[:-1]) * hop / SR


@pytest.mark.parametrize("tempo", [80, 120])
def test_tempo_changes_the_length_and_the_note_spacing_not_the_pitch(tempo: int) -> None:
    song = bursts(4.0)
    out = render(song, np.zeros_like(song), SR, KaraokeSettings(tempo_percent=tempo))
    ratio = out.shape[1] / song.shape[1]
    assert abs(ratio / (100 / tempo) - 1) < 0.01  # 80 %: 1.25× as long
    spacing = np.median(np.diff(onsets_s(out)))
    assert abs(spacing / (0.5 * 100 / tempo) - 1) < 0.03  # notes really come slower / faster
    assert (
        abs(
            cents(
                pitch_hz(
                    render(harmonic_tone(), np.zeros_like(song), SR, KaraokeSettings(tempo_percent=tempo))
                ),
                F0,
            )
        )
        < 10
    )


def test_tempo_and_key_together() -> None:
    tone = harmonic_tone()
    out = render(tone, np.zeros_like(tone), SR, KaraokeSettings(semitones=2, tempo_percent=80))
    assert abs(out.shape[1] / tone.shape[1] - 1.25) < 0.0125
    assert abs(cents(pitch_hz(out), F0) - 200) < 10


def guide_stems() -> tuple[np.ndarray, np.ndarray]:
    """An instrumental (220 Hz harmonic tone) and a 'vocal' (a 2 kHz sine, above every partial
    of the instrumental, with its own stereo balance), quiet enough that no headroom gain applies."""
    instrumental = harmonic_tone(level=0.2)
    t = np.arange(instrumental.shape[1]) / SR
    voice = 0.2 * np.sin(2 * np.pi * 2000.0 * t)
    return instrumental, np.stack([0.7 * voice, voice]).astype(np.float32)


@pytest.mark.parametrize("guide_db", [-6.0, -12.0, -18.0])
def test_guide_vocal_is_mixed_at_the_asked_level(guide_db: float) -> None:
    instrumental, vocals = guide_stems()
    out = render(instrumental, vocals, SR, KaraokeSettings(guide_db=guide_db))
    for ch in range(2):
        level = rms_db(out[ch] - instrumental[ch]) - rms_db(vocals[ch])
        assert abs(level - guide_db) < 0.5


def band_db(audio: np.ndarray, lo: float, hi: float) -> float:
    """Energy in [lo, hi] Hz, in dB, of the middle half of the channel mean."""
    mono = audio.mean(axis=0)
    x = mono[len(mono) // 4 : 3 * len(mono) // 4].astype(np.float64)
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    return float(10 * np.log10(power[(freqs >= lo) & (freqs <= hi)].sum()))


def test_guide_level_steps_survive_a_key_and_tempo_change() -> None:
    instrumental, vocals = guide_stems()
    shifted_voice = 2000.0 * 2 ** (2 / 12)
    levels = {
        db: band_db(
            render(instrumental, vocals, SR, KaraokeSettings(guide_db=db, semitones=2, tempo_percent=90)),
            shifted_voice - 60,
            shifted_voice + 60,
        )
        for db in (-6.0, -18.0)
    }
    assert abs(levels[-6.0] - levels[-18.0] - 12.0) < 0.5


@pytest.mark.slow  # seconds of CPU: keeps the fast tier under a minute on 2 cores
def test_guide_off_is_the_instrumental_only() -> None:
    instrumental, vocals = guide_stems()
    off = KaraokeSettings()
    assert off.is_identity
    np.testing.assert_array_equal(render(instrumental, vocals, SR, off), instrumental)
    shifted = KaraokeSettings(semitones=3, tempo_percent=110)
    np.testing.assert_array_equal(
        render(instrumental, vocals, SR, shifted),
        render(instrumental, np.zeros_like(vocals), SR, shifted),
    )
    assert (
        band_db(render(instrumental, vocals, SR, shifted), 2200, 2500)
        < band_db(
            render(instrumental, vocals, SR, KaraokeSettings(guide_db=-18.0, semitones=3, tempo_percent=110)),
            2200,
            2500,
        )
        - 20
    )


def test_stereo_image_is_kept() -> None:
    left_only = harmonic_tone()
    left_only[1] = 0.0
    out = render(left_only, np.zeros_like(left_only), SR, KaraokeSettings(semitones=-2, tempo_percent=85))
    assert rms_db(out[1]) < rms_db(out[0]) - 40


def test_loud_stems_are_turned_down_by_one_gain_never_clipped() -> None:
    instrumental, vocals = harmonic_tone(level=0.95), harmonic_tone(f0=330.0, level=0.95)
    settings = KaraokeSettings(guide_db=-6.0)
    out = render(instrumental, vocals, SR, settings)
    assert np.max(np.abs(out)) <= PEAK_CEILING + 1e-6
    assert np.max(np.abs(out)) > PEAK_CEILING - 1e-3  # turned down to the ceiling, no further
    exact = instrumental + settings.guide_gain * vocals  # what it would be with infinite headroom
    scale = float(np.sum(out * exact) / np.sum(exact * exact))
    assert scale < 0.9
    assert np.max(np.abs(out - scale * exact)) < 1e-5  # one gain: the waveform is not distorted
    shifted = render(instrumental, vocals, SR, KaraokeSettings(guide_db=-6.0, semitones=5))
    assert np.max(np.abs(shifted)) <= PEAK_CEILING + 1e-6


def test_inputs_are_not_modified_and_shapes_must_match() -> None:
    instrumental, vocals = guide_stems()
    before = instrumental.copy()
    render(instrumental, vocals, SR, KaraokeSettings(guide_db=-6.0, semitones=1))
    np.testing.assert_array_equal(instrumental, before)
    with pytest.raises(ValueError):
        render(instrumental, vocals[:, :-1], SR, KaraokeSettings(guide_db=-6.0))


@pytest.mark.parametrize(
    ("settings", "form"),
    [
        (KaraokeSettings(), "goff.k0.t100"),
        (KaraokeSettings(guide_db=-12, semitones=2, tempo_percent=90), "g12.k2.t90"),
        (KaraokeSettings(guide_db=-18.0, semitones=-6, tempo_percent=120), "g18.k-6.t120"),
        (KaraokeSettings(guide_db=-6.0, semitones=6, tempo_percent=80), "g6.k6.t80"),
    ],
)
def test_compact_form_round_trip(settings: KaraokeSettings, form: str) -> None:
    assert settings.to_string() == str(settings) == form
    assert KaraokeSettings.parse(form) == settings
    assert len(form) <= MAX_FORM_CHARS <= 64
    assert all(c.isalnum() or c in ".-" for c in form)


def test_every_offered_setting_round_trips() -> None:
    for guide in (None, -18.0, -12.0, -6.0):
        for semitones in range(-6, 7):
            for tempo in TEMPO_CHOICES:
                settings = KaraokeSettings(guide, semitones, tempo)
                assert KaraokeSettings.parse(settings.to_string()) == settings
    assert TEMPO_CHOICES == (80, 85, 90, 95, 100, 105, 110, 115, 120)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"guide_db": -9.0},
        {"guide_db": 0.0},
        {"guide_db": 6.0},
        {"guide_db": "-12"},
        {"semitones": 7},
        {"semitones": -7},
        {"semitones": 1.5},
        {"semitones": True},
        {"tempo_percent": 75},
        {"tempo_percent": 125},
        {"tempo_percent": 92},
        {"tempo_percent": 100.0},
    ],
)
def test_bad_values_are_refused_with_a_user_facing_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(KaraokeSettingsError) as caught:
        KaraokeSettings(**kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, AudioError) and isinstance(caught.value, ValueError)
    assert "karaoke" in text_of(caught.value) and caught.value.code == "bad_karaoke_settings"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "g12.k2",
        "g12.k+2.t90",
        "g-12.k2.t90",
        "g9.k2.t90",
        "g12.k7.t90",
        "g12.k2.t95x",
        "g12.k02.t90",
        "g12.k-0.t90",
        "g12.k2.t125",
        "g12.k2.t92",
        "G12.K2.T90",
        "goff.k0.t100 ",
    ],
)
def test_bad_forms_are_refused(text: str) -> None:
    with pytest.raises(KaraokeSettingsError):
        KaraokeSettings.parse(text)
