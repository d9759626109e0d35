"""Mask post-processing and test-time augmentation: residual vs own instrumental mask vs
multichannel Wiener vs averaged predictions.

    python bench/postprocess.py ../shared/data/eval [--model PATH] [--no-record]

The Wiener variant (the ``norbert`` package, as Open-Unmix uses it) takes the model's two
magnitude estimates as source spectrogram models and re-derives both stems with a multichannel
Wiener filter that also uses the stereo covariance our per-channel U-Net ignores. Whole-clip STFT
(the eval clips are seconds long), so this measures the filter, not the chunking.

Test-time augmentation: ``swap`` separates the channel-swapped song and swaps back (the U-Net masks
each channel on its own, so this must equal ``residual``: a check, not a hope); ``shift-K`` averages
the vocal estimates of K copies delayed by fractions of a hop, so each sees another STFT frame grid;
``stereo-mean`` gives both channels the mean of their two vocal masks (lead vocals sit mostly in the
centre, so a mask that disagrees between channels is likely wrong in one of them).

``power-P`` raises the vocal mask to the power P (``engine.calibrate``; the model file's own
calibrated power is marked). Every other row uses the raw masks (power 1), so the rows compare.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import norbert
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._cli import eval_folder_main
from engine.evaluate import Track, evaluate_estimator, format_table
from engine.predict import Separator, Stems, load_model
from engine.transforms import istft, stft


def estimate(track: Track, model: Separator, mode: str) -> Stems:
    x = torch.from_numpy(track.mixture)
    spec = stft(x, model.stft_cfg)  # (2, freq, frames)
    masks = model.masks(spec[None])[0]  # (2, sources, freq, frames)
    n = track.mixture.shape[-1]
    if mode == "residual":
        vocals = istft(spec * masks[:, 0], model.stft_cfg, n).numpy()
        return Stems(vocals, track.mixture - vocals)
    if mode.startswith("power-"):
        vocals = istft(spec * masks[:, 0] ** float(mode.split("-")[1]), model.stft_cfg, n).numpy()
        return Stems(vocals, track.mixture - vocals)
    if mode == "swap":
        flipped = Track(track.name, track.mixture[::-1].copy(), track.vocals, track.accompaniment)
        vocals = estimate(flipped, model, "residual").vocals[::-1].copy()
        return Stems(vocals, track.mixture - vocals)
    if mode.startswith("shift-"):
        copies, hop = int(mode.split("-")[1]), model.stft_cfg.hop
        total = np.zeros_like(track.mixture)
        for k in range(copies):
            d = k * hop // copies
            padded = np.pad(track.mixture, ((0, 0), (d, 0)))
            spec_d = stft(torch.from_numpy(padded), model.stft_cfg)
            est = istft(spec_d * model.masks(spec_d[None])[0, :, 0], model.stft_cfg, n + d).numpy()
            total += est[:, d:]
        return Stems(total / copies, track.mixture - total / copies)
    if mode == "stereo-mean":
        mask = masks[:, 0].mean(dim=0, keepdim=True)
        vocals = istft(spec * mask, model.stft_cfg, n).numpy()
        return Stems(vocals, track.mixture - vocals)
    if mode == "mask":
        return Stems(
            istft(spec * masks[:, 0], model.stft_cfg, n).numpy(),
            istft(spec * masks[:, 1], model.stft_cfg, n).numpy(),
        )
    # wiener-N: N EM iterations of the multichannel filter (0: the soft mask of the estimates).
    # norbert wants (frames, freq, channels, sources) magnitudes and (frames, freq, channels) mix.
    v = (masks * spec.abs()[:, None]).permute(3, 2, 0, 1).numpy().astype(np.float64)
    mix = spec.permute(2, 1, 0).numpy().astype(np.complex128)
    y = norbert.wiener(v, mix, iterations=int(mode.split("-")[1]))
    out = torch.from_numpy(y).permute(3, 2, 1, 0)  # (sources, channels, freq, frames)
    return Stems(
        istft(out[0].to(spec.dtype), model.stft_cfg, n).numpy(),
        istft(out[1].to(spec.dtype), model.stft_cfg, n).numpy(),
    )


def _body(tracks: list[Track], args: argparse.Namespace) -> str:
    calibrated = load_model(args.model).vocal_mask_power
    model = load_model(args.model, vocal_mask_power=1.0)
    powers = sorted({0.5, calibrated, 0.8})
    modes = [
        "residual",
        "mask",
        "wiener-0",
        "wiener-1",
        "swap",
        "shift-2",
        "shift-4",
        "stereo-mean",
        *(f"power-{p}" for p in powers),
    ]
    rows = [
        evaluate_estimator(
            f"{model.version} {mode}" + (" (calibrated)" if mode == f"power-{calibrated}" else ""),
            tracks,
            lambda t, m=mode: estimate(t, model, m),
        )
        for mode in modes
    ]
    body = f"Post-processing of one model's masks on `{args.folder}`.\n\n{format_table(rows)}"
    return body


def main() -> None:
    eval_folder_main("Mask post-processing and test-time augmentation", _body, models="one")


if __name__ == "__main__":
    main()
