"""The U-Net of Jansson et al. (2017), "Singing voice separation with deep U-Net convolutional
networks": six strided 5×5 convolutions down (batch norm, leaky ReLU 0.2), six strided 5×5
transposed convolutions up (batch norm, ReLU, dropout 0.5 on the first three), skip connections by
concatenation, and a sigmoid soft mask on the magnitude spectrogram.

One change from the paper: the last layer predicts two masks, one for vocals and one for the
instrumental, trained jointly. Separation can then rebuild the instrumental either as the residual
``mixture − vocals`` or from its own mask; which one ships is decided by measurement
(docs/BENCHMARKS.md), not by taste.

Two input layouts (``UNetConfig.stereo``):
- mono (the paper's): each channel of a stereo song is masked on its own, as a batch of two
  one-channel spectrograms. The network cannot tell where a sound sits in the stereo image.
- stereo: one pass sees the whole stereo pair as four input channels, the magnitudes of left,
  right, mid ``(L+R)/2`` and side ``(L−R)/2``, and predicts a mask per source *and* channel.
  Mid and side carry what magnitudes of L and R alone cannot: how alike the two channels are in
  each bin, i.e. whether a sound is in the centre (a lead vocal) or spread wide (doubles, echoes,
  reverb, most accompaniment) — the cue classic vocal removers live on. Only the first and last
  layers differ from the mono network, and one pass per stereo pair halves the compute.
  :func:`stereo_from_mono` starts one from a mono model's weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol, Self

import torch
from torch import nn

DEPTH = 6  # strided layers; inputs must be divisible by 2**DEPTH in both axes
KERNEL = 5
AUDIO_CHANNELS = 2  # every song is stereo by the time it reaches the model (engine.audio)
STEREO_FEATURES = 4  # |L|, |R|, |mid|, |side|


@dataclass(frozen=True)
class UNetConfig:
    width: int = 8  # channels of the first layer; the paper's network is width 16 (9.8 M params)
    bins: int = 1024
    sources: int = 2  # vocals, instrumental
    stereo: bool = False  # see the module docstring

    @property
    def in_channels(self) -> int:
        return STEREO_FEATURES if self.stereo else 1

    @property
    def out_channels(self) -> int:
        return self.sources * AUDIO_CHANNELS if self.stereo else self.sources

    def to_dict(self) -> dict[str, int | bool]:
        return asdict(self)


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, KERNEL, stride=2, padding=KERNEL // 2),
        nn.BatchNorm2d(cout),
        nn.LeakyReLU(0.2),
    )


def _up(cin: int, cout: int, dropout: bool, last: bool = False) -> nn.Sequential:
    deconv = nn.ConvTranspose2d(cin, cout, KERNEL, stride=2, padding=KERNEL // 2, output_padding=1)
    if last:
        return nn.Sequential(deconv)
    layers: list[nn.Module] = [deconv, nn.BatchNorm2d(cout), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(0.5))
    return nn.Sequential(*layers)


class MaskNetwork(Protocol):
    """What separation (:class:`engine.predict.Separator`) and the training losses use of a
    network: :meth:`UNet.masks_for`, on the device it was moved to, in eval mode for inference.
    :class:`UNet` is one; the tests' fixed-mask modules are others."""

    def masks_for(self, spec: torch.Tensor) -> torch.Tensor: ...

    def to(self, device: torch.device) -> Self: ...

    def eval(self) -> Self: ...


class UNet(nn.Module):
    """Maps magnitude features ``(batch, in_channels, bins, frames)`` to masks ``(batch,
    out_channels, bins, frames)`` in [0, 1]. ``frames`` must be a multiple of 64.
    :meth:`masks_for` is the one way callers use it: complex stereo spectrogram in, a mask per
    channel and source out, whatever the layout."""

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        chans = [w * 2**i for i in range(DEPTH)]  # w, 2w, ..., 32w
        self.down = nn.ModuleList(
            [_down(cfg.in_channels if i == 0 else chans[i - 1], chans[i]) for i in range(DEPTH)]
        )
        ups: list[nn.Module] = []
        for i in range(DEPTH):
            level = DEPTH - 1 - i  # encoder level this layer comes up from
            cin = chans[level] if i == 0 else chans[level] * 2
            last = i == DEPTH - 1
            cout = cfg.out_channels if last else chans[level - 1]
            ups.append(_up(cin, cout, dropout=i < 3, last=last))
        self.up = nn.ModuleList(ups)
        # Per-frequency input scaling (as Open-Unmix does): log magnitudes differ by tens of dB
        # between bass and treble, and batch norm alone would let the low bins dominate.
        # Mono keeps the (bins, 1) shape of the models shipped before the stereo layout existed.
        shape = (cfg.in_channels, cfg.bins, 1) if cfg.stereo else (cfg.bins, 1)
        self.input_mean = nn.Parameter(torch.zeros(shape))
        self.input_scale = nn.Parameter(torch.ones(shape))

    def forward(self, mag: torch.Tensor) -> torch.Tensor:
        x = (torch.log1p(mag) - self.input_mean) * self.input_scale
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        skips.pop()  # the bottleneck is not concatenated with itself
        for i, layer in enumerate(self.up):
            if i > 0:
                x = torch.cat([x, skips.pop()], dim=1)
            x = layer(x)
        return torch.sigmoid(x)

    def masks_for(self, spec: torch.Tensor) -> torch.Tensor:
        """Masks for a complex stereo spectrogram ``(batch, 2, freq, frames)`` (``freq`` ≥ bins,
        ``frames`` a multiple of 64) → ``(batch, 2, sources, bins, frames)``: for each channel,
        the mask of each source over the modelled bins."""
        spec = spec[..., : self.cfg.bins, :]
        batch, channels, bins, frames = spec.shape
        if channels != AUDIO_CHANNELS:
            raise ValueError(f"expected a stereo spectrogram, got {channels} channels")
        if not self.cfg.stereo:
            out = self(spec.abs().reshape(batch * channels, 1, bins, frames))
            return out.reshape(batch, channels, self.cfg.sources, bins, frames)
        left, right = spec[:, 0], spec[:, 1]
        features = torch.stack(
            [left.abs(), right.abs(), ((left + right) / 2).abs(), ((left - right) / 2).abs()],
            dim=1,
        )
        out = self(features).reshape(batch, self.cfg.sources, channels, bins, frames)
        return out.transpose(1, 2)


def stereo_from_mono(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights for a stereo network that starts out as the mono network ``state`` run on the mean of
    the two channels' (normalised log-) features, predicting one mask for both channels.

    The first convolution takes half its mono kernel from each of L and R (a convolution is
    linear, so this is the mono kernel on their mean) and nothing from mid and side, which start at
    zero weight and are learnt; the last layer's kernel for each source is copied to both of that
    source's channels. Everything between keeps its shape and its weights.
    """
    first, last = "down.0.0.weight", f"up.{DEPTH - 1}.0.weight"
    out = dict(state)
    w = state[first]  # (width, 1, k, k)
    zeros = torch.zeros_like(w)
    out[first] = torch.cat([w / 2, w / 2, zeros, zeros], dim=1)
    channel_copies = torch.arange(state[last].shape[1]).repeat_interleave(AUDIO_CHANNELS)
    out[last] = state[last][:, channel_copies]  # (cin, sources·2, k, k), source-major
    out[f"up.{DEPTH - 1}.0.bias"] = state[f"up.{DEPTH - 1}.0.bias"][channel_copies]
    for name in ("input_mean", "input_scale"):
        out[name] = state[name][None].expand(STEREO_FEATURES, -1, -1).clone()
    return out


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
