"""Calibration of an exported model: the exponent of its vocal mask, chosen on the validation split.

Why: the network is trained with the L1 loss on magnitudes, which makes each mask value a
conditional *median*; where the model is unsure whether a bin is voice it errs towards closing
the mask, and the vocal estimate comes out thinned and too quiet (the instrumental keeps what was
not taken). A power below one on the vocal mask (``mask ** p``) opens the uncertain bins and
leaves confident ones (near 0 or 1) almost as they were. The power is chosen where the overall
validation score is highest (:class:`Scores`: the held-out remixes and the held-out produced song,
what the checkpoint was chosen on, never the evaluation clips) and stored in the model file, where
it becomes part of the model's version (results cached under the old version are not reused for the
new output).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from engine import checkpoint
from engine.constants import CALIBRATION_EXAMPLES
from engine.transforms import STFTConfig, istft, stft

if TYPE_CHECKING:
    from engine.data import ValidationSet
    from engine.songs import PowerScores

MASK_POWERS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
BATCH = 16


def signal_to_distortion(reference: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """Plain signal-to-distortion ratio per example (no BSS-eval filtering: relative use only)."""
    num = reference.square().sum(dim=(-1, -2))
    den = (reference - estimate).square().sum(dim=(-1, -2))
    return 10 * torch.log10(num / (den + 1e-12) + 1e-12)


@dataclass(frozen=True)
class Scores:
    """Validation medians (dB) at one vocal-mask power: the vocals of the held-out remixes, and the
    vocals and instrumental (the mixture less the vocal estimate, as ``separate`` makes it) of the
    held-out produced song as recorded (``None`` where the data holds none; see
    :class:`engine.data.ValidationSet`).

    ``overall`` is their mean, what checkpoints and powers are chosen on: a dB gained on the song's
    instrumental counts as much as one on its vocals or on the remixes, because a karaoke singer
    pays for the first and a producer for the second, and the remixes keep the choice from
    fitting one song. The instrumental is the residual, so on a voiced patch its error is the
    vocals' error and the two move together; what it adds is the patches without voice, where
    any vocal estimate is bleed. The song thus weighs twice the remixes, on purpose: it is the
    part that looks like the product."""

    remix_vocals: float
    song_vocals: float | None = None
    song_instrumental: float | None = None

    @property
    def overall(self) -> float:
        parts = [s for s in (self.remix_vocals, self.song_vocals, self.song_instrumental) if s is not None]
        return sum(parts) / len(parts)

    def describe(self) -> str:
        """One line: the overall score and its parts."""
        line = f"overall {self.overall:.2f} dB | remix vocals {self.remix_vocals:.2f}"
        if self.song_vocals is not None and self.song_instrumental is not None:
            line += f" | song vocals {self.song_vocals:.2f}, instrumental {self.song_instrumental:.2f}"
        return line

    def to_dict(self) -> dict[str, float | None]:
        return {
            "remix_vocals": _round(self.remix_vocals),
            "song_vocals": _round(self.song_vocals),
            "song_instrumental": _round(self.song_instrumental),
            "overall": _round(self.overall),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


VocalMask = Callable[[torch.Tensor], torch.Tensor]


def score_by_power(
    vocal_mask: VocalMask,
    validation: ValidationSet,
    stft_cfg: STFTConfig,
    device: torch.device | str = "cpu",
    batch: int = BATCH,
) -> dict[float, Scores]:
    """Score a model on ``validation`` at every power in ``MASK_POWERS``: ``vocal_mask`` maps a
    complex spectrogram to the full-band vocal mask at power 1; it is raised to each power, applied
    to the mixture's spectrogram and inverted. The one scoring of calibration and of checkpoint
    choice in training."""
    mix, targets, _band = validation.remixes
    # vocal-free remixes have no vocals SDR
    remix = _medians(
        vocal_mask, mix, targets, targets[:, 0].abs().amax(dim=(-1, -2)) > 0, False, stft_cfg, device, batch
    )
    if validation.song is None:
        return {p: Scores(v) for p, (v, _) in remix.items()}
    song = _medians(vocal_mask, *validation.song, True, stft_cfg, device, batch)
    return {p: Scores(remix[p][0], *song[p]) for p in MASK_POWERS}


def _medians(
    vocal_mask: VocalMask,
    mix: torch.Tensor,
    targets: torch.Tensor,
    voiced: torch.Tensor,
    instrumental: bool,
    stft_cfg: STFTConfig,
    device: torch.device | str,
    batch: int,
) -> dict[float, tuple[float, float | None]]:
    """Per power: median vocals SDR over the ``voiced`` examples and, with ``instrumental``, the
    median instrumental SDR over all of them."""
    vocal_sdrs: dict[float, list[torch.Tensor]] = {p: [] for p in MASK_POWERS}
    inst_sdrs: dict[float, list[torch.Tensor]] = {p: [] for p in MASK_POWERS}
    for i in range(0, mix.shape[0], batch):
        x = mix[i : i + batch].to(device)
        refs = targets[i : i + batch].to(device)
        spec = stft(x, stft_cfg)
        mask = vocal_mask(spec)
        for p in MASK_POWERS:
            vocals = istft(spec * mask**p, stft_cfg, x.shape[-1])
            vocal_sdrs[p].append(signal_to_distortion(refs[:, 0], vocals)[voiced[i : i + batch]].cpu())
            if instrumental:
                inst_sdrs[p].append(signal_to_distortion(refs[:, 1], x - vocals).cpu())
    return {
        p: (
            float(torch.cat(vocal_sdrs[p]).median()),
            float(torch.cat(inst_sdrs[p]).median()) if instrumental else None,
        )
        for p in MASK_POWERS
    }


def best_power(scores: dict[float, Scores]) -> float:
    """The power with the highest overall score; ties (to 0.01 dB) go to the gentler power."""
    return max(scores, key=lambda p: (round(scores[p].overall, 2), p))


def power_scores(
    model_path: Path, data: list[Path], examples: int = CALIBRATION_EXAMPLES
) -> dict[float, Scores]:
    """The validation scores of a model file at each power in ``MASK_POWERS``, on ``examples``
    validation remixes (the first ``examples`` of the one seeded validation set)."""
    from engine.data import validation_set
    from engine.predict import load_model

    model = load_model(model_path, device="cpu", vocal_mask_power=1.0)
    validation = validation_set(data, examples, model.stft_cfg)
    return score_by_power(lambda spec: model.masks(spec)[:, :, 0], validation, model.stft_cfg)


def calibrate_model_file(
    model_path: Path, data: list[Path], songs: Path | None = None, examples: int = CALIBRATION_EXAMPLES
) -> tuple[float, str, dict[float, Scores] | dict[float, PowerScores]]:
    """Choose the vocal-mask power and write it into the model file; return the power, the
    model's new version and the score of every power tried.

    With ``songs`` (a folder of real songs with their stems, ``../shared/data/valid``) the power is
    chosen there, over :data:`engine.songs.SONG_POWERS`: the judge (:mod:`engine.songs`). Without,
    on ``data``'s validation remixes (``examples`` of them) — only for a model trained on
    someone's own stems with no songs to validate on."""
    scores: dict[float, Scores] | dict[float, PowerScores]
    if songs is not None:
        from engine import songs as song_judge
        from engine.predict import load_model

        model = load_model(model_path, device="cpu", vocal_mask_power=1.0)
        scores = song_judge.score_by_power(model, song_judge.load_songs(songs))
        best = song_judge.best_power(scores)
        judge = "songs"
    else:
        scores = power_scores(model_path, data, examples)
        best = best_power(scores)
        judge = "remixes"
    payload = checkpoint.load(model_path)
    payload["calibration"] = {"vocal_mask_power": best}
    payload["calibration_scores"] = {str(p): s.to_dict() for p, s in scores.items()}
    payload["calibration_judge"] = judge  # what the scores are of: "songs" or "remixes"
    payload["version"] = checkpoint.model_version(payload)
    checkpoint.save_atomic(payload, model_path)
    return best, payload["version"], scores


def export_calibrated(
    run_checkpoint: Path,
    model_path: Path,
    data: list[Path],
    songs: Path | None = None,
    examples: int = CALIBRATION_EXAMPLES,
) -> tuple[float, str, dict[float, Scores] | dict[float, PowerScores]]:
    """Export a training run's checkpoint (its averaged weights, float16) as a model file and
    calibrate it: the one way a run becomes a shippable model, at the end of ``train --export``
    (on the run's own validation remixes) and from the command line for a run that has already
    stopped."""
    checkpoint.export(checkpoint.load(run_checkpoint), model_path)
    return calibrate_model_file(model_path, data, songs, examples)


def describe(scores: Mapping[float, Scores | PowerScores]) -> str:
    """One line per power: the overall score and its parts."""
    return "\n".join(f"power {p}: {scores[p].describe()}" for p in sorted(scores))
