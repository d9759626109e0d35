"""Short-time Fourier transform used by training, separation and evaluation.

Why 4096/1024 at 44.1 kHz and the lowest 1024 bins (0-11 kHz): a 93 ms window resolves the
harmonics of a singing voice (about 10.8 Hz per bin), which is what a magnitude mask needs to tell
voice from accompaniment, and the 23 ms hop is fine enough for consonant onsets. Above 11 kHz there
is little voice energy apart from sibilants and breaths; modelling those bins would double the cost
of every layer, so the mask for them is extended from the top of the modelled band (see
:func:`extend_mask`). The figures behind this choice are in docs/BENCHMARKS.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch


@dataclass(frozen=True)
class STFTConfig:
    n_fft: int = 4096
    hop: int = 1024
    bins: int = 1024  # modelled frequency bins, counted from DC
    # Bins at the top of the modelled band whose mean mask is copied to the bins above it.
    extend_from: int = 128

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def stft(audio: torch.Tensor, cfg: STFTConfig) -> torch.Tensor:
    """Complex STFT of ``(..., samples)`` → ``(..., freq, frames)``; centred, Hann window."""
    shape = audio.shape
    window = torch.hann_window(cfg.n_fft, device=audio.device, dtype=audio.dtype)
    spec = torch.stft(
        audio.reshape(-1, shape[-1]),
        n_fft=cfg.n_fft,
        hop_length=cfg.hop,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(spec: torch.Tensor, cfg: STFTConfig, length: int) -> torch.Tensor:
    """Inverse of :func:`stft`; exact up to float error for an unmodified spectrogram."""
    shape = spec.shape
    window = torch.hann_window(cfg.n_fft, device=spec.device, dtype=spec.real.dtype)
    audio = torch.istft(
        spec.reshape(-1, *shape[-2:]),
        n_fft=cfg.n_fft,
        hop_length=cfg.hop,
        window=window,
        center=True,
        length=length,
    )
    return audio.reshape(*shape[:-2], length)


def extend_mask(mask: torch.Tensor, cfg: STFTConfig) -> torch.Tensor:
    """Grow a mask over the modelled bins ``(..., bins, frames)`` to all ``n_fft // 2 + 1`` bins.

    The bins above the model's range take, frame by frame, the mean mask of the top
    ``extend_from`` modelled bins: a frame where the model hears voice near 11 kHz keeps the
    sibilant energy above it in the vocals instead of leaving it in the instrumental.
    """
    total = cfg.n_fft // 2 + 1
    extra = total - mask.shape[-2]
    if extra <= 0:
        return mask
    top = mask[..., -cfg.extend_from :, :].mean(dim=-2, keepdim=True)
    return torch.cat([mask, top.expand(*mask.shape[:-2], extra, mask.shape[-1])], dim=-2)
