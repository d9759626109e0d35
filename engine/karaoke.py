"""Karaoke tools: a guide vocal mixed back under the instrumental, key shift and tempo.

Everything here works on stems that are already separated; nothing runs the model again, so a
song's new key costs one Rubber Band pass (see docs/KARAOKE.md for timings).

What the settings mean, precisely:

* ``guide_db`` — the vocal stem's gain in dB (``None``: no guide vocal). "−12 dB" means the output
  holds the instrumental at its separated level plus the vocals at ``10 ** (-12 / 20)`` (0.251) of
  their separated level, before any pitch/tempo change. The level is relative to the stems as the
  model separated them, not to loudness: a quiet singer stays quiet under the band.
* ``semitones`` — key shift of the whole result (instrumental and guide vocal together), −6…+6;
  tempo is not changed by it.
* ``tempo_percent`` — playback speed, 80…120 % in steps of 5; pitch is not changed by it. 80 %
  makes the song 1.25× as long.

Headroom rule (no silent hard clipping): adding the vocals back, and the phase changes of a pitch
shift, can push peaks over full scale, where the encoder would clip. If the rendered peak is above
``PEAK_CEILING`` the whole render is turned down by one gain to exactly that ceiling. A single
gain, not a compressor: no pumping, no distortion, the guide-to-band ratio stays the asked one;
the cost is that a render with one loud peak is a little quieter overall.

Arrays are channels-first ``(channels, samples)`` float32, as everywhere in the engine; channels
are processed together by Rubber Band, so the stereo image is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from engine.errors import AudioError
from service.errors import ErrorCode

# Allowed guide-vocal gains in dB; None switches the guide vocal off.
GUIDE_OFF: float | None = None
GUIDE_LEVELS_DB: tuple[float, ...] = (-18.0, -12.0, -6.0)
MIN_SEMITONES = -6
MAX_SEMITONES = 6
MIN_TEMPO_PERCENT = 80
MAX_TEMPO_PERCENT = 120
TEMPO_STEP_PERCENT = 5
TEMPO_CHOICES: tuple[int, ...] = tuple(range(MIN_TEMPO_PERCENT, MAX_TEMPO_PERCENT + 1, TEMPO_STEP_PERCENT))
# The headroom rule's ceiling: −0.3 dBFS, a little under full scale (the encoder clips at 1.0).
PEAK_CEILING = 10 ** (-0.3 / 20)
# Rubber Band's formant preservation estimates one spectral envelope for the whole mix and keeps
# it: measured on a 220 Hz tone + a 2 kHz "voice" (tests/engine/test_karaoke.py), it moved the
# guide's level by up to 1.2 dB against the band (−12 dB came out −10.8) and, at −6 semitones, cut
# the shifted fundamental so far that the tone's strongest partial became its 2nd harmonic. A
# plain shift keeps levels exact and the pitch right; it is what a key change of a band sounds like.
PRESERVE_FORMANTS = False
# Samples per block when mixing or scaling a song (bounded temporaries on 20-minute songs).
BLOCK = 1 << 20

# The compact form: "g12.k2.t90" = guide 12 dB down, 2 semitones up, 90 % tempo; "goff.k-3.t100".
# Only letters, digits, "." and "-": safe in a storage key, a URL path, a Telegram callback_data
# (64 bytes; the longest form is 13) and a Discord custom_id (100 chars). One spelling per
# setting (no "+", no leading zeros), so a form names exactly one stored file.
_FORM_RE = re.compile(r"^g(off|6|12|18)\.k(0|-?[1-9][0-9]*)\.t([1-9][0-9]*)$")
MAX_FORM_CHARS = len("goff.k-6.t100")


class KaraokeSettingsError(AudioError, ValueError):
    """Karaoke settings outside what we offer (a stale button, an edited URL). Permanent."""

    code = ErrorCode.BAD_KARAOKE_SETTINGS

    def __init__(self, detail: str) -> None:
        # What we do offer, for the words (``texts.error_text``): the engine's own limits.
        super().__init__(
            detail,
            min_semitones=MIN_SEMITONES,
            max_semitones=MAX_SEMITONES,
            min_tempo_percent=MIN_TEMPO_PERCENT,
            max_tempo_percent=MAX_TEMPO_PERCENT,
            tempo_step_percent=TEMPO_STEP_PERCENT,
        )


@dataclass(frozen=True)
class KaraokeSettings:
    """One karaoke variant of a song. Validated on construction: an instance is always valid."""

    guide_db: float | None = GUIDE_OFF
    semitones: int = 0
    tempo_percent: int = 100

    def __post_init__(self) -> None:
        if self.guide_db is not None:
            if isinstance(self.guide_db, bool) or not isinstance(self.guide_db, (int, float)):
                raise KaraokeSettingsError(f"guide_db {self.guide_db!r} is not a number")
            if float(self.guide_db) not in GUIDE_LEVELS_DB:
                raise KaraokeSettingsError(f"guide_db {self.guide_db!r} not in {GUIDE_LEVELS_DB}")
            object.__setattr__(self, "guide_db", float(self.guide_db))
        if isinstance(self.semitones, bool) or not isinstance(self.semitones, int):
            raise KaraokeSettingsError(f"semitones {self.semitones!r} is not a whole number")
        if not MIN_SEMITONES <= self.semitones <= MAX_SEMITONES:
            raise KaraokeSettingsError(f"semitones {self.semitones} outside {MIN_SEMITONES}..{MAX_SEMITONES}")
        if isinstance(self.tempo_percent, bool) or not isinstance(self.tempo_percent, int):
            raise KaraokeSettingsError(f"tempo_percent {self.tempo_percent!r} is not a whole number")
        if self.tempo_percent not in TEMPO_CHOICES:
            raise KaraokeSettingsError(f"tempo_percent {self.tempo_percent} not in {TEMPO_CHOICES}")

    @property
    def is_identity(self) -> bool:
        """The plain instrumental: no guide vocal, original key and tempo (nothing to render)."""
        return self.guide_db is None and self.semitones == 0 and self.tempo_percent == 100

    @property
    def guide_gain(self) -> float:
        """The vocal stem's linear gain (0.0 when the guide vocal is off)."""
        return 0.0 if self.guide_db is None else float(10 ** (self.guide_db / 20))

    @property
    def stretch_factor(self) -> float:
        """Rubber Band's speed factor: > 1 shortens, so 80 % tempo is 0.8 (1.25× as long)."""
        return self.tempo_percent / 100

    def to_string(self) -> str:
        """The compact form, e.g. ``"g12.k2.t90"``; :meth:`parse` reads it back."""
        guide = "off" if self.guide_db is None else str(int(-self.guide_db))
        return f"g{guide}.k{self.semitones}.t{self.tempo_percent}"

    def __str__(self) -> str:
        return self.to_string()

    @classmethod
    def parse(cls, text: str) -> KaraokeSettings:
        """Settings from their compact form; :class:`KaraokeSettingsError` for anything else."""
        match = _FORM_RE.match(text) if isinstance(text, str) else None
        if match is None:
            raise KaraokeSettingsError(f"not a karaoke settings string: {text!r}")
        guide, semitones, tempo = match.groups()
        return cls(
            guide_db=None if guide == "off" else -float(guide),
            semitones=int(semitones),
            tempo_percent=int(tempo),
        )


IDENTITY = KaraokeSettings()


def render(
    instrumental: np.ndarray, vocals: np.ndarray, sample_rate: int, settings: KaraokeSettings
) -> np.ndarray:
    """The karaoke track: instrumental + vocals × ``settings.guide_gain``, then shifted by
    ``settings.semitones`` and played at ``settings.tempo_percent`` in one Rubber Band pass
    (formants shifted with the pitch: see ``PRESERVE_FORMANTS``), then held under
    ``PEAK_CEILING`` by one gain (module docstring).

    Both stems are ``(channels, samples)`` float arrays of the same shape; neither is modified.
    The result is float32 of the same channel count and ``round(samples * 100 / tempo_percent)``
    samples. Identity settings return a copy of the instrumental (headroom rule applied).
    """
    if instrumental.ndim != 2 or instrumental.shape != vocals.shape:
        raise ValueError(
            f"stems must be (channels, samples) of one shape, got {instrumental.shape} and {vocals.shape}"
        )
    mix = np.array(instrumental, dtype=np.float32, copy=True, order="C")
    gain = np.float32(settings.guide_gain)
    if gain:
        for i in range(0, mix.shape[1], BLOCK):
            mix[:, i : i + BLOCK] += gain * vocals[:, i : i + BLOCK].astype(np.float32, copy=False)
    if settings.semitones or settings.tempo_percent != 100:
        import pedalboard  # Rubber Band; imported here so parsing settings stays light

        mix = pedalboard.time_stretch(
            mix,
            float(sample_rate),
            stretch_factor=settings.stretch_factor,
            pitch_shift_in_semitones=float(settings.semitones),
            high_quality=True,
            preserve_formants=PRESERVE_FORMANTS,
        )
    _hold_under_ceiling(mix)
    return mix


def _hold_under_ceiling(audio: np.ndarray) -> None:
    """Scale ``audio`` in place so its peak is at most ``PEAK_CEILING`` (one gain, block-wise)."""
    top = max(
        (float(np.max(np.abs(audio[:, i : i + BLOCK]))) for i in range(0, audio.shape[1], BLOCK)),
        default=0.0,
    )
    if top > PEAK_CEILING:
        scale = np.float32(PEAK_CEILING / top)
        for i in range(0, audio.shape[1], BLOCK):
            audio[:, i : i + BLOCK] *= scale


__all__ = [
    "GUIDE_LEVELS_DB",
    "GUIDE_OFF",
    "IDENTITY",
    "KaraokeSettings",
    "KaraokeSettingsError",
    "MAX_SEMITONES",
    "MAX_TEMPO_PERCENT",
    "MIN_SEMITONES",
    "MIN_TEMPO_PERCENT",
    "PEAK_CEILING",
    "TEMPO_CHOICES",
    "render",
]
