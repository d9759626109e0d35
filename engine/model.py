"""The U-Net of Jansson et al. (2017), "Singing voice separation with deep U-Net convolutional
networks": six strided 5×5 convolutions down (batch norm, leaky ReLU 0.2), six strided 5×5
transposed convolutions up (batch norm, ReLU, dropout 0.5 on the first three), skip connections by
concatenation, and a sigmoid soft mask on the magnitude spectrogram.

One change from the paper: the last layer predicts two masks, one for vocals and one for the
instrumental, trained jointly. Separation can then rebuild the instrumental either as the residual
``mixture − vocals`` or from its own mask; which one ships is decided by measurement
(docs/BENCHMARKS.md), not by taste.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

DEPTH = 6  # strided layers; inputs must be divisible by 2**DEPTH in both axes
KERNEL = 5


@dataclass(frozen=True)
class UNetConfig:
    width: int = 8  # channels of the first layer; the paper's network is width 16 (9.8 M params)
    bins: int = 1024
    sources: int = 2  # vocals, instrumental

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, KERNEL, stride=2, padding=KERNEL // 2),
        nn.BatchNorm2d(cout),
        nn.LeakyReLU(0.2),
    )


def _up(cin: int, cout: int, dropout: bool, last: bool = False) -> nn.Sequential:
    deconv = nn.ConvTranspose2d(
        cin, cout, KERNEL, stride=2, padding=KERNEL // 2, output_padding=1
    )
    if last:
        return nn.Sequential(deconv)
    layers: list[nn.Module] = [deconv, nn.BatchNorm2d(cout), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(0.5))
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """Maps a magnitude spectrogram ``(batch, 1, bins, frames)`` to masks ``(batch, sources, bins,
    frames)`` in [0, 1]. ``frames`` must be a multiple of 64."""

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        chans = [w * 2**i for i in range(DEPTH)]  # w, 2w, ..., 32w
        self.down = nn.ModuleList(
            [_down(1 if i == 0 else chans[i - 1], chans[i]) for i in range(DEPTH)]
        )
        ups: list[nn.Module] = []
        for i in range(DEPTH):
            level = DEPTH - 1 - i  # encoder level this layer comes up from
            cin = chans[level] if i == 0 else chans[level] * 2
            last = i == DEPTH - 1
            cout = cfg.sources if last else chans[level - 1]
            ups.append(_up(cin, cout, dropout=i < 3, last=last))
        self.up = nn.ModuleList(ups)
        # Per-frequency input scaling (as Open-Unmix does): log magnitudes differ by tens of dB
        # between bass and treble, and batch norm alone would let the low bins dominate.
        self.input_mean = nn.Parameter(torch.zeros(cfg.bins, 1))
        self.input_scale = nn.Parameter(torch.ones(cfg.bins, 1))

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


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
