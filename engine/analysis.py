"""Tempo, key and beat grid of a piece of audio: what a DJ, producer or singer looks up next.

``analyse(audio, sr)`` returns an :class:`Analysis`: the tempo in BPM, the key (tonic pitch
class 0–11 and mode), its Camelot code ("8A" for A minor), a confidence for each, and the beat
times. Plain numbers only: the words a person reads ("A minor") are the bots' text catalogue's.

How (librosa, ISC; the field's own tools — Essentia's extractors are stronger but AGPL-3.0):

* **Tempo and beats**: librosa's onset strength (spectral flux on a mel spectrogram) and its
  dynamic-programming beat tracker (Ellis 2007, "Beat tracking by dynamic programming", J. New
  Music Research 36(1)). The tempo is the one the beat tracker settles on; its confidence is how
  much of the onset envelope's autocorrelation at that lag stands above the median lag.
* **Key**: a pitch-class profile (the chroma of a constant-Q-like STFT, summed over the whole
  piece, log-compressed) correlated with the 24 rotations of a published key profile — the
  Krumhansl–Schmuckler method (Krumhansl 1990, "Cognitive Foundations of Musical Pitch", ch. 4)
  with the profiles of Albrecht & Shanahan (2013, "The use of large corpora to train a new type
  of key-finding algorithm", Music Perception 31(1), 59–67), which ``bench/key_tempo.py``
  measured best of those and Krumhansl & Kessler's (1982, Psychological Review 89(4), 334–368)
  and Temperley's (1999, "What's key for key?", Music Perception 17(1), 65–100) on the rendered
  test set (docs/BENCHMARKS.md). The confidence is the best correlation's margin over the best
  key that is not its relative, parallel or a fifth away (a near tie with a neighbour is still a
  good guess for harmonic mixing; a tie with an unrelated key is not).

Invariant: the same audio always gives the same answer (no randomness), and a 4-minute song
takes well under ``bench/key_tempo.py``'s 3-second budget on two CPU cores once warm
(:func:`warm_up`: numba compiles librosa's beat tracker on first use, which takes seconds).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

# One resampling to a quarter of 44.1 kHz serves both: onsets and pitch need nothing above
# 5.5 kHz, and it halves the cost of librosa's 22.05 kHz default (bench/key_tempo.py).
ANALYSIS_SR = 11_025
HOP = 256  # 23 ms onset frames at ANALYSIS_SR, as librosa's default 512 at 22.05 kHz
ONSET_N_FFT = 1024
CHROMA_SR = ANALYSIS_SR
CHROMA_HOP = 2048
TEMPO_RANGE = (55.0, 190.0)  # BPM: the flat prior; a tempo outside is read as an octave of it
OCTAVE_UP_RATIO = 0.95  # twice the tempo is taken when its pulse is at least this strong
HARMONIC_CHANGE_WEIGHT = 0.5  # chroma flux beside onsets in the pulse (bench/key_tempo.py)
FLUX_N_FFT = 2048
FLUX_HOP = 2 * HOP
CQT_FMIN_HZ = 32.70  # C1
CQT_OCTAVES = 6  # C1–B6: bass to melody, under the 5.5 kHz of ANALYSIS_SR
MIN_BEATS_TO_REFINE = 8
REFINE_TOLERANCE = 0.06  # the beats' own tempo is used within this of the tracker's
MIN_AUDIO_S = 2.0  # shorter audio gives no answer (AnalysisError)
SILENCE_RMS = 1e-4
# Below these confidences an answer is not shown as one (the bots say it is unclear or say
# nothing): bench/key_tempo.py's threshold tables, docs/BENCHMARKS.md "Key and tempo".
KEY_SURE = 0.05
TEMPO_SURE = 0.1

# Key profiles, index 0 = the tonic (see the module docstring for the papers).
PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "albrecht_shanahan": (
        (0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081),
        (0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052),
    ),
    "krumhansl_kessler": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    "temperley": (
        (5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0),
        (5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0),
    ),
}
DEFAULT_PROFILE = "albrecht_shanahan"
MAJOR, MINOR = "major", "minor"
# Pitch-class names for logs and benchmarks.
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Tonics as musicians spell keys (notation, not words: the bots and the results page put the
# words round them): flats for the flat major keys, sharps for the sharp minor ones.
MAJOR_TONICS = ("C", "D♭", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")
MINOR_TONICS = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "G♯", "A", "B♭", "B")
MODES = (MAJOR, MINOR)


class AnalysisError(Exception):
    """The audio has nothing to analyse (too short, or silent)."""


@dataclass(frozen=True)
class Key:
    """A key as numbers: ``tonic`` is a pitch class (0 = C … 11 = B), ``mode`` major or minor."""

    tonic: int
    mode: str

    def __post_init__(self) -> None:
        if not 0 <= self.tonic < 12 or self.mode not in MODES:
            raise ValueError(f"no such key: {self.tonic} {self.mode}")

    @property
    def camelot(self) -> str:
        """The Camelot wheel code DJs mix by: C major 8B, A minor 8A; a fifth up is one more."""
        major_tonic = self.tonic if self.mode == MAJOR else (self.tonic + 3) % 12
        number = (major_tonic * 7 + 7) % 12 + 1
        return f"{number}{'B' if self.mode == MAJOR else 'A'}"

    @property
    def spelled_tonic(self) -> str:
        return (MAJOR_TONICS if self.mode == MAJOR else MINOR_TONICS)[self.tonic]

    def transposed(self, semitones: int) -> Key:
        return Key((self.tonic + semitones) % 12, self.mode)

    @property
    def index(self) -> int:
        """0–11 the major keys from C, 12–23 the minor keys from C."""
        return self.tonic + (0 if self.mode == MAJOR else 12)


@dataclass(frozen=True)
class Analysis:
    """One piece's tempo, key and beat grid, with how sure each answer is (0–1)."""

    bpm: float
    tempo_confidence: float
    key: Key
    key_confidence: float
    beats: tuple[float, ...] = field(default=())  # seconds from the start of the audio
    duration_s: float = 0.0

    @property
    def camelot(self) -> str:
        return self.key.camelot

    @property
    def key_is_sure(self) -> bool:
        return self.key_confidence >= KEY_SURE

    @property
    def tempo_is_sure(self) -> bool:
        return self.tempo_confidence >= TEMPO_SURE

    def to_json(self, beats: bool = True) -> str:
        """JSON (``beats=False``: without the beat grid, the summary a job record holds)."""
        data = asdict(self)
        data["bpm"] = round(self.bpm, 2)
        data["beats"] = [round(b, 3) for b in self.beats] if beats else []
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Analysis:
        data: dict[str, Any] = json.loads(text)
        return cls(
            bpm=float(data["bpm"]),
            tempo_confidence=float(data["tempo_confidence"]),
            key=Key(int(data["key"]["tonic"]), str(data["key"]["mode"])),
            key_confidence=float(data["key_confidence"]),
            beats=tuple(float(b) for b in data.get("beats", ())),
            duration_s=float(data.get("duration_s", 0.0)),
        )


def _mono(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        return x
    return x[0] if x.shape[0] == 1 else (x.sum(axis=0) * np.float32(1.0 / x.shape[0]))


def _resample(x: np.ndarray, sr: int, target: int) -> np.ndarray:
    if sr == target:
        return x
    import soxr

    return soxr.resample(x, sr, target, quality="MQ").astype(np.float32, copy=False)


def pulse_envelope(y: np.ndarray, sr: int = ANALYSIS_SR) -> np.ndarray:
    """What the beat is tracked on: librosa's onset strength (spectral flux on a mel
    spectrogram) plus ``HARMONIC_CHANGE_WEIGHT`` × the chroma's frame-to-frame rise (chords
    change on beats: harmonic change marks the beat where soft attacks leave the onsets flat;
    Harte, Sandler & Gasser 2006, "Detecting harmonic change in musical audio"), each scaled to
    unit deviation."""
    import librosa

    onset = librosa.onset.onset_strength(y=y, sr=sr, hop_length=HOP, n_fft=ONSET_N_FFT)
    spec = np.abs(librosa.stft(y, n_fft=FLUX_N_FFT, hop_length=FLUX_HOP)) ** 2
    chroma = librosa.feature.chroma_stft(S=spec, sr=sr, n_fft=FLUX_N_FFT, tuning=0.0, norm=None)
    chroma = chroma / (chroma.sum(axis=0, keepdims=True) + 1e-9)
    flux = np.r_[0.0, np.maximum(0.0, np.diff(chroma, axis=1)).sum(axis=0)]
    flux = np.repeat(flux, FLUX_HOP // HOP)[: onset.size]
    flux = np.pad(flux, (0, onset.size - flux.size))
    return onset / (onset.std() + 1e-9) + HARMONIC_CHANGE_WEIGHT * flux / (flux.std() + 1e-9)


def tempo_and_beats(y: np.ndarray, sr: int = ANALYSIS_SR) -> tuple[float, float, np.ndarray]:
    """BPM, its confidence and the beat times (s) of mono audio at ``sr``: the strongest
    periodicity of :func:`pulse_envelope` in ``TEMPO_RANGE`` (a flat prior there — librosa's
    default log-normal prior round 120 BPM halves or doubles slow and fast pieces: measured in
    bench/key_tempo.py), then librosa's dynamic-programming beat tracker (Ellis 2007) at it."""
    import librosa
    import scipy.stats

    envelope = pulse_envelope(y, sr)
    low, high = TEMPO_RANGE
    prior = scipy.stats.uniform(low, high - low)
    bpm = float(librosa.feature.tempo(onset_envelope=envelope, sr=sr, hop_length=HOP, prior=prior)[0])
    # A flat prior cannot tell a pulse from every other pulse of it (a click track at 120
    # is as periodic at 60): take the faster where it is nearly as strong.
    if 2 * bpm <= high and _pulse_strength(envelope, 2 * bpm, sr) >= (
        OCTAVE_UP_RATIO * _pulse_strength(envelope, bpm, sr)
    ):
        bpm *= 2
    _, beat_frames = librosa.beat.beat_track(
        onset_envelope=envelope, sr=sr, hop_length=HOP, bpm=bpm, units="frames"
    )
    beats = librosa.frames_to_time(beat_frames, sr=sr, hop_length=HOP)
    bpm = _refined_bpm(bpm, beats)
    return bpm, _periodicity(envelope, bpm, sr), beats


def _refined_bpm(bpm: float, beats: np.ndarray) -> float:
    """The tracker's tempo is quantised to whole onset frames (120 BPM reads 117.5 or 123.0 at
    23 ms frames); the slope of a straight line through the tracked beats is not. Used when the
    beats agree with the tracker's tempo (within ``REFINE_TOLERANCE``), else the tracker's."""
    if beats.size < MIN_BEATS_TO_REFINE:
        return bpm
    slope = float(np.polyfit(np.arange(beats.size), beats, 1)[0])
    if slope <= 0:
        return bpm
    fitted = 60.0 / slope
    return fitted if abs(fitted / bpm - 1.0) <= REFINE_TOLERANCE else bpm


def _periodicity(onset: np.ndarray, bpm: float, sr: int) -> float:
    """How periodic the pulse is at ``bpm``, 0–1: :func:`_pulse_strength` capped at 1."""
    return float(np.clip(_pulse_strength(onset, bpm, sr), 0.0, 1.0))


def _pulse_strength(onset: np.ndarray, bpm: float, sr: int) -> float:
    """The pulse's normalised autocorrelation summed over the lags round the beat period at
    ``bpm`` (a period between two whole frames splits its peak): 0 when flat (no pulse), about
    1 for a click track, a little more at its own period than at twice it."""
    if not bpm or onset.size < 8:
        return 0.0
    x = onset - onset.mean()
    denom = float(np.dot(x, x))
    if denom <= 0:
        return 0.0
    lag = int(round(60.0 * sr / HOP / bpm))
    if lag <= 1 or lag + 1 >= x.size:
        return 0.0
    total = sum(max(0.0, float(np.dot(x[:-k], x[k:]))) for k in (lag - 1, lag, lag + 1))
    return total / denom


def pitch_profile(y: np.ndarray, sr: int = CHROMA_SR) -> np.ndarray:
    """The piece's pitch-class profile (12 values, C first): a constant-Q chroma (C1–B6, one
    bin per semitone) summed over time. Constant-Q, not STFT chroma: an STFT's linear bins
    smear the bass and let overtones pull the answer a fifth up (bench/key_tempo.py measured
    both)."""
    import librosa

    chroma = librosa.feature.chroma_cqt(
        y=y,
        sr=sr,
        hop_length=CHROMA_HOP,
        fmin=CQT_FMIN_HZ,
        n_octaves=CQT_OCTAVES,
        tuning=0.0,
        norm=None,
    )
    return chroma.sum(axis=1)


def key_scores(profile: np.ndarray, profiles: str = DEFAULT_PROFILE) -> np.ndarray:
    """Pearson correlation of ``profile`` with each of the 24 keys (index as :attr:`Key.index`)."""
    major, minor = (np.asarray(p, dtype=np.float64) for p in PROFILES[profiles])
    scores = np.empty(24)
    for tonic in range(12):
        rotated = np.roll(profile, -tonic)
        scores[tonic] = np.corrcoef(rotated, major)[0, 1]
        scores[12 + tonic] = np.corrcoef(rotated, minor)[0, 1]
    return np.nan_to_num(scores, nan=-1.0)


def _key_of(index: int) -> Key:
    return Key(index % 12, MAJOR if index < 12 else MINOR)


def related(a: Key, b: Key) -> bool:
    """Fifth, relative or parallel: the keys MIREX counts as partly right."""
    return mirex_score(a, b) > 0.0 and a != b


def key_from_profile(profile: np.ndarray, profiles: str = DEFAULT_PROFILE) -> tuple[Key, float]:
    """The best key and its confidence: its correlation's lead over the best unrelated key."""
    scores = key_scores(profile, profiles)
    best = _key_of(int(np.argmax(scores)))
    others = [scores[i] for i in range(24) if not related(best, _key_of(i)) and i != best.index]
    lead = float(scores[best.index] - max(others)) if others else 0.0
    return best, float(np.clip(lead, 0.0, 1.0))


def mirex_score(estimate: Key, truth: Key) -> float:
    """MIREX's weighted key score: 1 exact, 0.5 a fifth either way (same mode), 0.3 the
    relative, 0.2 the parallel, else 0."""
    if estimate == truth:
        return 1.0
    step = (estimate.tonic - truth.tonic) % 12
    if estimate.mode == truth.mode and step in (5, 7):
        return 0.5
    if truth.mode == MAJOR and estimate.mode == MINOR and step == 9:
        return 0.3
    if truth.mode == MINOR and estimate.mode == MAJOR and step == 3:
        return 0.3
    if estimate.tonic == truth.tonic:
        return 0.2
    return 0.0


def analyse(audio: np.ndarray, sr: int, profiles: str = DEFAULT_PROFILE) -> Analysis:
    """Tempo, key and beats of ``audio`` (``(channels, samples)`` or mono) at ``sr`` Hz.

    Raises :class:`AnalysisError` for audio shorter than ``MIN_AUDIO_S`` or silent."""
    mono = _mono(audio)
    duration = mono.size / sr if sr else 0.0
    if duration < MIN_AUDIO_S:
        raise AnalysisError(f"{duration:.2f} s of audio is too short to analyse")
    if float(np.sqrt(np.mean(mono.astype(np.float64) ** 2))) < SILENCE_RMS:
        raise AnalysisError("the audio is silent")
    y = _resample(mono, sr, ANALYSIS_SR)
    bpm, tempo_conf, beats = tempo_and_beats(y, ANALYSIS_SR)
    key, key_conf = key_from_profile(pitch_profile(_resample(y, ANALYSIS_SR, CHROMA_SR), CHROMA_SR), profiles)
    return Analysis(
        bpm=bpm,
        tempo_confidence=tempo_conf,
        key=key,
        key_confidence=key_conf,
        beats=tuple(float(b) for b in beats),
        duration_s=duration,
    )


def warm_up() -> None:
    """Run the analysis once on a few seconds of clicks, so numba's first compile of librosa's
    beat tracker (seconds) happens at worker start, not in a person's job."""
    sr = ANALYSIS_SR
    clicks = np.zeros(int(4 * sr), dtype=np.float32)
    clicks[:: sr // 2] = 1.0
    analyse(clicks + 0.01 * np.sin(np.arange(clicks.size) * 2 * np.pi * 440 / sr), sr)
