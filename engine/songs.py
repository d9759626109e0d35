"""The judge: validation on real songs with their true stems (``valid/<song>/{vocals,accompaniment}``).

Why: every checkpoint and setting chosen on random remixes (or on one held-out album song) failed
to predict what real songs do (docs/BENCHMARKS.md, "Model quality V" and "Real songs decide"): the
remixes rewarded a vocal mask that is too closed on nearly every real song. So checkpoints
(``best.pt``), the vocal-mask power and every recipe change are chosen here, on whole songs scored
the way the product is judged: the median over 1-second frames of each song, then the median over
songs, for the vocals and for the instrumental (the mixture less the vocal estimate, as
``separate`` makes it). One number decides, :attr:`PowerScores.overall`: the mean of those two
medians, because a karaoke singer pays for the instrumental and a producer for the vocals.

Two metrics, one protocol:
- ``museval``: BSSEval v4 (``engine.evaluate.score``), what the evaluation tables report; about
  half a minute per 100-s song on the 2-core CPU, too slow to score a dozen powers at every
  validation of a training run.
- ``fast``: the plain signal-to-distortion ratio of each 1-s frame (both channels, no BSS
  distortion filter; frames whose reference is silent are skipped, as museval skips them). It is
  what training and calibration choose on, because it ranks checkpoints and powers as museval does:
  on the validation songs it gives museval's figures to 0.001 dB (Spearman ρ 1.000 over 6 model
  and power points, 24 song scores; ``bench/song_judge.py`` measures it and records it in
  docs/BENCHMARKS.md) — museval v4 scores each stem as an image, whose SDR is this ratio — at a
  thousandth of the cost.

Songs are decoded once; a song folder may hold a ``mixture`` file, else the mixture is the sum of
its stems (``engine.evaluate.load_tracks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.constants import SAMPLE_RATE
from engine.evaluate import FRAME_S, Track, load_tracks, score
from engine.predict import Progress, Separator, Stems, separate_powers

# Wider than the remix calibration's 0.4–1.0: on real songs the best power came out at 0.35 and
# below (docs/BENCHMARKS.md), and a grid that cannot reach the optimum hides it.
SONG_POWERS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
METRICS = ("fast", "museval")
SILENT_FRAME_ENERGY = 1e-8  # a frame whose reference has less energy than this has no SDR


@dataclass(frozen=True)
class PowerScores:
    """Scores (dB) at one vocal-mask power: ``per_song`` maps a song to its (vocals,
    instrumental) median-over-frames SDR; the medians over songs and their mean ``overall``."""

    per_song: dict[str, tuple[float, float]]

    @property
    def vocals(self) -> float:
        return float(np.median([v for v, _ in self.per_song.values()]))

    @property
    def instrumental(self) -> float:
        return float(np.median([i for _, i in self.per_song.values()]))

    @property
    def overall(self) -> float:
        return (self.vocals + self.instrumental) / 2

    def describe(self) -> str:
        """One line: the overall score and its two medians."""
        return (
            f"songs overall {self.overall:.2f} dB | vocals {self.vocals:.2f}, "
            f"instrumental {self.instrumental:.2f}"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "vocals": round(self.vocals, 3),
            "instrumental": round(self.instrumental, 3),
            "overall": round(self.overall, 3),
            "per_song": {k: [round(v, 3), round(i, 3)] for k, (v, i) in self.per_song.items()},
        }


def load_songs(folder: Path) -> list[Track]:
    """The validation songs under ``folder`` (a mixture file is optional: stems are summed)."""
    return load_tracks(Path(folder))


def frame_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Median over 1-s frames of the plain SDR of ``estimate`` against ``reference``, both
    ``(channels, samples)``; frames with a silent reference are skipped (``nan`` if all are)."""
    win = int(FRAME_S * SAMPLE_RATE)
    frames = reference.shape[-1] // win
    if frames == 0:
        return float("nan")
    n = frames * win
    ref = reference[:, :n].reshape(reference.shape[0], frames, win).astype(np.float64)
    err = ref - estimate[:, :n].reshape(estimate.shape[0], frames, win)
    num = np.square(ref).sum(axis=(0, 2))
    den = np.square(err).sum(axis=(0, 2))
    voiced = num > SILENT_FRAME_ENERGY
    if not voiced.any():
        return float("nan")
    return float(np.median(10 * np.log10(num[voiced] / (den[voiced] + 1e-12) + 1e-12)))


def score_track(track: Track, vocals: np.ndarray, metric: str) -> tuple[float, float]:
    """(vocals, instrumental) median-over-frames SDR of one song's vocal estimate."""
    instrumental = np.subtract(track.mixture, vocals, dtype=np.float32)
    if metric == "museval":
        return score(track, Stems(vocals=vocals, instrumental=instrumental))
    if metric != "fast":
        raise ValueError(f"metric must be one of {METRICS}")
    return frame_sdr(track.vocals, vocals), frame_sdr(track.accompaniment, instrumental)


def score_by_power(
    model: Separator,
    songs: Sequence[Track],
    powers: Sequence[float] = SONG_POWERS,
    metric: str = "fast",
    progress: Progress | None = None,
) -> dict[float, PowerScores]:
    """Score ``model`` on ``songs`` at every vocal-mask power in ``powers`` (one network pass per
    song: :func:`engine.predict.separate_powers`)."""
    per_power: dict[float, dict[str, tuple[float, float]]] = {p: {} for p in powers}
    for i, track in enumerate(songs):
        vocals = separate_powers(track.mixture, model, powers)
        for p in powers:
            per_power[p][track.name] = score_track(track, vocals[p], metric)
        if progress is not None:
            progress((i + 1) / len(songs))
    return {p: PowerScores(s) for p, s in per_power.items()}


def best_power(scores: dict[float, PowerScores]) -> float:
    """The power with the highest overall score; ties (to 0.01 dB) go to the gentler power (the
    one nearer 1, which changes the network's output least)."""
    return max(scores, key=lambda p: (round(scores[p].overall, 2), -abs(1.0 - p)))


def table(scores: dict[float, PowerScores]) -> str:
    """A Markdown table: one row per power, each song's vocals / instrumental and the medians."""
    songs = list(next(iter(scores.values())).per_song)
    head = "| power | " + " | ".join(songs) + " | median vocals | median instrumental | overall |"
    rule = "|---:|" + "---:|" * len(songs) + "---:|---:|---:|"
    rows = [head, rule]
    for p in sorted(scores):
        s = scores[p]
        cells = " | ".join(f"{v:.2f} / {i:.2f}" for v, i in s.per_song.values())
        rows.append(f"| {p} | {cells} | {s.vocals:.2f} | {s.instrumental:.2f} | {s.overall:.2f} |")
    return "\n".join(rows)
