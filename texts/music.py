"""The words for a song's tempo and key, said alike by the bots and the results page.

"124 BPM · A minor · 8A". Invariant: a figure the analysis is unsure of is never stated as if it
were sure — an unsure key is said to be unclear, an unsure tempo is left out, and when neither is
sure nothing is said (:func:`key_and_tempo` returns None). Note names (C♯, E♭) and Camelot codes
are the same in every language; the words around them are catalogue texts.
"""

from __future__ import annotations

from typing import Protocol

from texts.translation import _


class KeyShape(Protocol):
    """A key as the texts read it (``engine.analysis.Key``)."""

    @property
    def mode(self) -> str: ...
    @property
    def spelled_tonic(self) -> str: ...
    def transposed(self, semitones: int) -> KeyShape: ...


class AnalysisShape(Protocol):
    """A song's analysis as the texts read it (``engine.analysis.Analysis``)."""

    @property
    def bpm(self) -> float: ...
    @property
    def key(self) -> KeyShape: ...
    @property
    def camelot(self) -> str: ...
    @property
    def key_is_sure(self) -> bool: ...
    @property
    def tempo_is_sure(self) -> bool: ...


def key_name(key: KeyShape) -> str:
    """ "A minor", "E♭ major"."""
    if key.mode == "major":
        return _("{tonic} major").format(tonic=key.spelled_tonic)
    return _("{tonic} minor").format(tonic=key.spelled_tonic)


def key_and_tempo(result: AnalysisShape | None) -> str | None:
    """ "124 BPM · A minor · 8A", or None when there is nothing sure to say."""
    if result is None or not (result.key_is_sure or result.tempo_is_sure):
        return None
    parts = []
    if result.tempo_is_sure:
        parts.append(_("{bpm} BPM").format(bpm=round(result.bpm)))
    if result.key_is_sure:
        parts.append(_("{key} · {camelot}").format(key=key_name(result.key), camelot=result.camelot))
    else:
        parts.append(_("key unclear"))
    return " · ".join(parts)


def whole_song(line: str) -> str:
    """The full job's line: it heard the whole song, not the preview's part."""
    return _("{key_and_tempo} (whole song)").format(key_and_tempo=line)


def preview_differed(earlier: str) -> str:
    """Said under the whole song's figures when the preview's were different."""
    return _("The preview said {earlier}: the whole song decides.").format(earlier=earlier)


def key_shift_lands(key: KeyShape, semitones: int) -> str:
    """Where a karaoke key step lands: "A minor → B minor, +2"."""
    return _("{original} → {shifted}, {step}").format(
        original=key_name(key),
        shifted=key_name(key.transposed(semitones)),
        step=f"{semitones:+d}".replace("-", "−"),
    )


def heading() -> str:
    """The results page's card title."""
    return _("Tempo and key")
