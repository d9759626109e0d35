"""Calibration of an exported model: the exponent of its vocal mask, chosen on the validation split.

Why: the network is trained with the L1 loss on magnitudes, which makes each mask value a
conditional *median*; where the model is unsure whether a bin is voice it errs towards closing
the mask, and the vocal estimate comes out thinned and too quiet (the instrumental keeps what was
not taken). A power below one on the vocal mask (``mask ** p``) opens the uncertain bins and
leaves confident ones (near 0 or 1) almost as they were. The power is chosen where the median SDR
of the validation remixes is highest — the held-out singers and songs the checkpoint was chosen on,
never the evaluation clips — and stored in the model file, where it becomes part of the model's
version (results cached under the old version are not reused for the new output).
"""

from __future__ import annotations

from pathlib import Path

import torch

from engine import checkpoint
from engine.transforms import STFTConfig, istft, stft

MASK_POWERS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
CALIBRATION_EXAMPLES = 128  # validation remixes of about 3 s
BATCH = 16


def signal_to_distortion(reference: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """Plain signal-to-distortion ratio per example (no BSS-eval filtering: relative use only)."""
    num = reference.square().sum(dim=(-1, -2))
    den = (reference - estimate).square().sum(dim=(-1, -2))
    return 10 * torch.log10(num / (den + 1e-12) + 1e-12)


def sdr_by_power(
    spec: torch.Tensor, vocal_mask: torch.Tensor, vocals: torch.Tensor, stft_cfg: STFTConfig
) -> dict[float, torch.Tensor]:
    """The vocals SDR of each example with a voice, for each power in ``MASK_POWERS``: the vocal
    mask (full band, power 1) raised to the power, applied to the mixture's complex spectrogram
    ``spec`` and inverted. The one scoring of calibration and of checkpoint choice in training."""
    active = vocals.abs().amax(dim=(-1, -2)) > 0  # vocal-free examples have no SDR
    return {
        p: signal_to_distortion(vocals, istft(spec * vocal_mask**p, stft_cfg, vocals.shape[-1]))[
            active
        ].cpu()
        for p in MASK_POWERS
    }


def best_power(scores: dict[float, float]) -> float:
    """The power with the highest median SDR; ties (to 0.01 dB) go to the gentler power."""
    return max(scores, key=lambda p: (round(scores[p], 2), p))


def power_scores(model_path: Path, data: list[Path]) -> dict[float, float]:
    """Median validation vocals SDR for each power in ``MASK_POWERS``."""
    from engine.data import validation_set
    from engine.predict import load_model

    model = load_model(model_path, device="cpu", vocal_mask_power=1.0)
    mix, targets, _band = validation_set(data, CALIBRATION_EXAMPLES, model.stft_cfg)
    scores: dict[float, list[torch.Tensor]] = {p: [] for p in MASK_POWERS}
    for i in range(0, mix.shape[0], BATCH):
        x = mix[i : i + BATCH]
        spec = stft(x, model.stft_cfg)
        for p, sdr in sdr_by_power(spec, model.masks(spec)[:, :, 0], targets[i : i + BATCH, 0],
                                   model.stft_cfg).items():
            scores[p].append(sdr)
    return {p: float(torch.cat(s).median()) for p, s in scores.items()}


def calibrate_model_file(model_path: Path, data: list[Path]) -> tuple[float, str, dict[float, float]]:
    """Choose the vocal-mask power on ``data``'s validation split and write it into the model file;
    return the power, the model's new version and the score of every power tried."""
    scores = power_scores(model_path, data)
    best = best_power(scores)
    payload = checkpoint.load(model_path)
    payload["calibration"] = {"vocal_mask_power": best}
    payload["calibration_scores"] = {str(p): round(s, 3) for p, s in scores.items()}
    payload["version"] = checkpoint.model_version(payload)
    checkpoint.save_atomic(payload, model_path)
    return best, payload["version"], scores


def export_calibrated(
    run_checkpoint: Path, model_path: Path, data: list[Path]
) -> tuple[float, str, dict[float, float]]:
    """Export a training run's checkpoint (its averaged weights, float16) as a model file and
    calibrate it: the one way a run becomes a shippable model, at the end of ``train --export``
    and from the command line for a run that has already stopped."""
    checkpoint.export(checkpoint.load(run_checkpoint), model_path)
    return calibrate_model_file(model_path, data)


def describe(scores: dict[float, float]) -> str:
    return ", ".join(f"{p}: {s:.2f} dB" for p, s in sorted(scores.items(), key=lambda kv: kv[0]))

