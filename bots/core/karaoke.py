"""Karaoke button changes: what one tap does to a person's karaoke preference.

A tap carries a *change*, not the settings it leads to, so a button sent long ago still means
"one semitone up from what I have now". The change names are short (a preview button's
``callback_data`` also holds a 32-character job id within Telegram's 64 bytes) and use only
letters and digits (Discord's ``custom_id`` template). A step past a bound (±6 semitones, tempo
80/120 %) leaves the setting where it is.
"""

from __future__ import annotations

from dataclasses import replace

from engine.karaoke import (
    GUIDE_LEVELS_DB,
    IDENTITY,
    MAX_SEMITONES,
    MIN_SEMITONES,
    TEMPO_CHOICES,
    KaraokeSettings,
)

KEY_DOWN = "kdn"
KEY_UP = "kup"
TEMPO_DOWN = "tdn"
TEMPO_UP = "tup"
GUIDE_NEXT = "gnx"  # off → −18 → −12 → −6 → off (quietest first)
RESET = "orig"
GUIDE_OFF = "goff"
# The guide levels, off first, in the order GUIDE_NEXT steps through them.
GUIDE_CYCLE: tuple[float | None, ...] = (None, *sorted(GUIDE_LEVELS_DB))


def guide_change(level: float | None) -> str:
    """The change that sets the guide to ``level`` (None: off): "goff", "g18", "g12", "g6"."""
    return GUIDE_OFF if level is None else f"g{abs(level):g}"


_GUIDE_SET = {guide_change(level): level for level in GUIDE_CYCLE}


def apply_change(settings: KaraokeSettings, change: str) -> KaraokeSettings | None:
    """``settings`` after one tap; None for a change no button sends (a forged tap)."""
    if change == RESET:
        return IDENTITY
    if change in _GUIDE_SET:
        return replace(settings, guide_db=_GUIDE_SET[change])
    if change == GUIDE_NEXT:
        position = GUIDE_CYCLE.index(settings.guide_db)
        return replace(settings, guide_db=GUIDE_CYCLE[(position + 1) % len(GUIDE_CYCLE)])
    if change in (KEY_DOWN, KEY_UP):
        step = 1 if change == KEY_UP else -1
        semitones = min(MAX_SEMITONES, max(MIN_SEMITONES, settings.semitones + step))
        return replace(settings, semitones=semitones)
    if change in (TEMPO_DOWN, TEMPO_UP):
        position = TEMPO_CHOICES.index(settings.tempo_percent) + (1 if change == TEMPO_UP else -1)
        tempo = TEMPO_CHOICES[min(len(TEMPO_CHOICES) - 1, max(0, position))]
        return replace(settings, tempo_percent=tempo)
    return None
