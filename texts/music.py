"""The words of a song's key and tempo, the same in the chat and on the results page.

"124 BPM · A minor · 8A": the tempo when it is sure, the key (spelled as musicians write it,
``engine.analysis.Key.spelled_tonic``) and its Camelot code when it is sure, "key unclear"
otherwise — never a guess. The analysis comes in as the small shapes below (protocols), so this
module imports nothing above :mod:`service`.
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
    """A song's key and tempo as the texts read them (``engine.analysis.Analysis``)."""

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
    """"A minor", "E♭ major"."""
    if key.mode == "major":
        return _("{tonic} major").format(tonic=key.spelled_tonic)
    return _("{tonic} minor").format(tonic=key.spelled_tonic)


def key_and_tempo(result: AnalysisShape | None) -> str | None:
    """"124 BPM · A minor · 8A"; an unsure key is said to be unclear and an unsure tempo left
    out (never a guess); None when neither is sure (say nothing)."""
    if result is None or not (result.key_is_sure or result.tempo_is_sure):
        return None
    parts = []
    if result.tempo_is_sure:
        parts.append(_("{bpm} BPM").format(bpm=round(result.bpm)))
    if result.key_is_sure:
        parts.append(
            _("{key} · {camelot}").format(key=key_name(result.key), camelot=result.camelot)
        )
    else:
        parts.append(_("key unclear"))
    return " · ".join(parts)
