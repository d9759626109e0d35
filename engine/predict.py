"""Separation: load a model once, then ``separate(audio, model)`` any length of song.

Overlap-add, after Demucs' ``apply.py``. The song is cut into chunks of ``CHUNK_FRAMES`` STFT
frames (about 6 s) that overlap by ``OVERLAP``; each chunk is transformed, masked and transformed
back on its own, then the chunks are added with a triangular weight that peaks in the middle of a
chunk and falls towards its edges, and the sum is divided by the sum of the weights. The weights are
never zero, so every sample is a proper weighted mean of the chunk estimates that cover it: with a
mask of all ones every chunk returns its input exactly and so does the whole (the identity the
tests check to 1e-4), and wherever chunks disagree the edges — where a chunk saw the least
context — count least, so there are no seams. Chunks are batched for speed; memory is bounded by
the batch, not by the song, apart from the output arrays themselves.

The vocal estimate is the mask applied to the mixture's magnitude with the mixture's phase; the
instrumental is the mixture minus that estimate (the default, see ``INSTRUMENTAL_MODES``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine import checkpoint
from engine.model import DEPTH, MaskNetwork, UNet, UNetConfig
from engine.settings import engine_settings
from engine.transforms import STFTConfig, extend_mask, istft, stft

CHUNK_FRAMES = 256  # frames per chunk: a multiple of 2**DEPTH, as the U-Net needs
OVERLAP = 0.25  # share of a chunk shared with its neighbour
CPU_BATCH_CHUNKS = 4  # chunks per forward pass; bounds memory on CPU
CUDA_BATCH_CHUNKS = 32
NORMALISE_BLOCK = 1 << 20  # samples normalised at a time after the overlap-add
# "residual": instrumental = mixture − vocals (the two stems always sum to the mixture);
# "mask": the instrumental gets the model's own second mask.
INSTRUMENTAL_MODES = ("residual", "mask")

Progress = Callable[[float], None]


@dataclass
class Stems:
    """Separated stems, float32 ``(2, samples)`` at 44.1 kHz, the same length as the input."""

    vocals: np.ndarray
    instrumental: np.ndarray


class Separator:
    """A loaded model ready to predict masks: network, STFT settings, device and version."""

    def __init__(
        self,
        net: MaskNetwork,
        stft_cfg: STFTConfig,
        version: str,
        device: torch.device | str | None = None,
        instrumental: str = "residual",
        vocal_mask_power: float = 1.0,
    ) -> None:
        if instrumental not in INSTRUMENTAL_MODES:
            raise ValueError(f"instrumental mode must be one of {INSTRUMENTAL_MODES}")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.net = net.to(self.device).eval()
        self.stft_cfg = stft_cfg
        self.version = version
        self.instrumental = instrumental
        self.vocal_mask_power = vocal_mask_power  # see engine.calibrate

    @property
    def batch_chunks(self) -> int:
        return CUDA_BATCH_CHUNKS if self.device.type == "cuda" else CPU_BATCH_CHUNKS

    @torch.inference_mode()
    def masks(self, spec: torch.Tensor) -> torch.Tensor:
        """Masks for a complex stereo spectrogram ``(n, 2, freq, frames)`` → ``(n, 2, sources,
        freq, frames)`` in [0, 1], the vocal mask raised to the calibrated power."""
        out = self._modelled_masks(spec)
        if self.vocal_mask_power != 1.0:
            out = torch.cat([out[:, :, :1] ** self.vocal_mask_power, out[:, :, 1:]], dim=2)
        return extend_mask(out, self.stft_cfg)

    @torch.inference_mode()
    def vocal_masks(self, spec: torch.Tensor, powers: Sequence[float]) -> list[torch.Tensor]:
        """The full-band vocal mask ``(n, 2, freq, frames)`` at each of ``powers`` from one
        network pass: each exactly what :meth:`masks` gives at that calibrated power (the power is
        applied before the mask is extended above the modelled band, as there)."""
        vocal = self._modelled_masks(spec)[:, :, 0]
        return [extend_mask(vocal**p, self.stft_cfg) for p in powers]

    def _modelled_masks(self, spec: torch.Tensor) -> torch.Tensor:
        """The network's masks at power 1 over the modelled bins ``(n, 2, sources, bins, frames)``."""
        frames = spec.shape[-1]
        pad = (-frames) % 2**DEPTH
        x = torch.nn.functional.pad(spec[..., : self.stft_cfg.bins, :], (0, pad))
        return self.net.masks_for(x)[..., :frames]


def load_model(
    path: str | os.PathLike[str] | None = None,
    device: str | torch.device | None = None,
    instrumental: str = "residual",
    vocal_mask_power: float | None = None,
) -> Separator:
    """Load an exported model (or a training checkpoint, using its averaged weights).

    ``vocal_mask_power`` overrides the calibration stored in the file (training checkpoints have
    none: 1.0)."""
    payload = checkpoint.load(Path(path or engine_settings().model_path))
    net = UNet(UNetConfig(**payload["unet"]))
    net.load_state_dict(checkpoint.averaged_weights(payload))
    version = payload.get("version") or f"ckpt-step{payload.get('step', 0)}"
    if vocal_mask_power is None:
        vocal_mask_power = payload.get("calibration", {}).get("vocal_mask_power", 1.0)
    return Separator(net, STFTConfig(**payload["stft"]), version, device, instrumental, vocal_mask_power)


def chunk_weight(length: int) -> np.ndarray:
    """Triangular cross-fade weight, never zero (see the module docstring)."""
    half = length // 2
    ramp = np.concatenate([np.arange(1, half + 1), np.arange(length - half, 0, -1)])
    return (ramp / ramp.max()).astype(np.float32)


def separate(
    audio: np.ndarray,
    model: Separator,
    progress: Progress | None = None,
    chunk_frames: int = CHUNK_FRAMES,
    batch_chunks: int | None = None,
) -> Stems:
    """Split a float32 ``(channels, samples)`` mixture into vocals and instrumental.

    ``chunk_frames`` and ``batch_chunks`` trade memory for speed; the result barely depends on
    them (the tests hold it to that).
    """

    def estimate(spec: torch.Tensor) -> list[torch.Tensor]:
        masks = model.masks(spec)  # (batch, channels, sources, freq, frames)
        out = [spec * masks[:, :, 0]]
        if model.instrumental == "mask":
            out.append(spec * masks[:, :, 1])
        return out

    outputs = _overlap_add(audio, model, estimate, progress, chunk_frames, batch_chunks)
    vocals = outputs[0]
    if model.instrumental == "mask":
        instrumental = outputs[1]
    else:
        instrumental = np.subtract(audio, vocals, dtype=np.float32)
    return Stems(vocals=vocals, instrumental=instrumental)


def separate_powers(
    audio: np.ndarray, model: Separator, powers: Sequence[float], progress: Progress | None = None
) -> dict[float, np.ndarray]:
    """The vocal estimate of :func:`separate` at each vocal-mask power, from one network pass per
    chunk: exactly what ``separate`` gives a model calibrated to that power (the same chunks,
    weights and inversion), so a calibration sweep scores what the product would output, at the
    cost of one separation plus an inverse STFT per power. The instrumental at a power is
    ``audio − vocals``."""

    def estimate(spec: torch.Tensor) -> list[torch.Tensor]:
        return [spec * mask for mask in model.vocal_masks(spec, powers)]

    outputs = _overlap_add(audio, model, estimate, progress, CHUNK_FRAMES, None)
    return dict(zip(powers, outputs, strict=True))


Estimate = Callable[[torch.Tensor], list[torch.Tensor]]


def _overlap_add(
    audio: np.ndarray,
    model: Separator,
    estimate: Estimate,
    progress: Progress | None,
    chunk_frames: int,
    batch_chunks: int | None,
) -> list[np.ndarray]:
    """Cut ``audio`` into chunks, map each chunk's complex spectrogram to spectrograms with
    ``estimate``, invert them and overlap-add each output over the song (module docstring)."""
    if chunk_frames % 2**DEPTH:
        raise ValueError(f"chunk_frames must be a multiple of {2**DEPTH}")
    batch_chunks = batch_chunks or model.batch_chunks
    # No copy of the song: chunks are read from it one at a time (it may be a strided view).
    channels, total = audio.shape
    cfg = model.stft_cfg
    length = (chunk_frames - 1) * cfg.hop  # centred STFT of this many samples has CHUNK_FRAMES
    stride = max(cfg.hop, int(length * (1 - OVERLAP)) // cfg.hop * cfg.hop)
    starts = list(range(0, max(total - length, 0) + stride, stride))
    starts = [s for s in starts if s < total] or [0]
    weight = chunk_weight(length)

    outputs: list[np.ndarray] = []
    for first in range(0, len(starts), batch_chunks):
        batch_starts = starts[first : first + batch_chunks]
        chunks = np.zeros((len(batch_starts), channels, length), dtype=np.float32)
        for i, s in enumerate(batch_starts):
            piece = audio[:, s : s + length]
            chunks[i, :, : piece.shape[1]] = piece
        x = torch.from_numpy(chunks).to(model.device)
        spec = stft(x, cfg)  # (batch, channels, freq, frames)
        estimates_np = [istft(e, cfg, length).cpu().numpy() for e in estimate(spec)]
        if not outputs:
            outputs = [np.zeros((channels, total), dtype=np.float32) for _ in estimates_np]
        for i, s in enumerate(batch_starts):
            n = min(length, total - s)
            w = weight[:n]
            for out, est in zip(outputs, estimates_np, strict=True):
                out[:, s : s + n] += est[i, :, :n] * w
        if progress is not None:
            progress(min(1.0, (first + len(batch_starts)) / len(starts)))

    for lo in range(0, total, NORMALISE_BLOCK):
        hi = min(total, lo + NORMALISE_BLOCK)
        weights = _weight_sum(starts, weight, lo, hi)
        for out in outputs:
            out[:, lo:hi] /= weights
    return outputs


def _weight_sum(starts: list[int], weight: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Sum of the chunk weights over samples ``lo:hi``, recomputed from the chunk layout so that a
    long song needs no song-sized array of weights (memory is the song and its stems, nothing else)."""
    total = np.zeros(hi - lo, dtype=np.float32)
    length = weight.shape[0]
    for s in starts:
        a, b = max(lo, s), min(hi, s + length)
        if a < b:
            total[a - lo : b - lo] += weight[a - s : b - s]
    return total
