"""Overlap-add without seams, invariance to chunking, masks within [0, 1]."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from engine.model import UNet, UNetConfig
from engine.predict import CHUNK_FRAMES, Separator, separate
from engine.transforms import STFTConfig

from .conftest import tone_mix

CHUNK_SAMPLES = (CHUNK_FRAMES - 1) * STFTConfig().hop


class PerChannelMask(nn.Module):
    """A stand-in network with the mono layout's :meth:`UNet.masks_for`: each channel's magnitudes
    alone in, two source masks out."""

    def masks_for(self, spec: torch.Tensor) -> torch.Tensor:
        batch, channels, bins, frames = spec.shape
        out = self(spec.abs().reshape(batch * channels, 1, bins, frames))
        return out.reshape(batch, channels, 2, *out.shape[-2:])


class ConstantMask(PerChannelMask):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, mag: torch.Tensor) -> torch.Tensor:
        return torch.full((mag.shape[0], 2, *mag.shape[2:]), self.value)


class LocalMask(PerChannelMask):
    """A mask that depends only on each bin's own magnitude: no context, so chunking can't matter
    except at the STFT edges of a chunk, which the overlap weights must hide."""

    def forward(self, mag: torch.Tensor) -> torch.Tensor:
        m = torch.sigmoid(torch.log(mag + 1e-3))
        return torch.cat([m, 1 - m], dim=1)


@pytest.mark.parametrize(
    "samples", [2048, CHUNK_SAMPLES - 1, CHUNK_SAMPLES, CHUNK_SAMPLES + 1, 3 * CHUNK_SAMPLES + 777]
)
def test_all_ones_mask_returns_the_input(samples: int) -> None:
    rng = np.random.default_rng(samples)
    song = rng.uniform(-1, 1, (2, samples)).astype(np.float32)
    stems = separate(song, Separator(ConstantMask(1.0), STFTConfig(), "ones"))
    assert stems.vocals.shape == song.shape
    np.testing.assert_allclose(stems.vocals, song, atol=1e-4)
    np.testing.assert_allclose(stems.instrumental, 0.0, atol=1e-4)


def test_stems_sum_to_the_mixture() -> None:
    song = tone_mix(8.0)
    stems = separate(song, Separator(ConstantMask(0.3), STFTConfig(), "c"))
    np.testing.assert_allclose(stems.vocals + stems.instrumental, song, atol=1e-5)
    np.testing.assert_allclose(stems.vocals, 0.3 * song, atol=1e-4)


def test_own_instrumental_mask_mode() -> None:
    song = tone_mix(8.0)
    stems = separate(song, Separator(ConstantMask(0.25), STFTConfig(), "c", instrumental="mask"))
    np.testing.assert_allclose(stems.instrumental, 0.25 * song, atol=1e-4)


def test_vocal_mask_power_opens_only_the_vocal_mask() -> None:
    """The calibrated power applies to the vocal mask (0.25 ** 0.5 = 0.5), not the instrumental's."""
    song = tone_mix(8.0)
    model = Separator(ConstantMask(0.25), STFTConfig(), "c", instrumental="mask", vocal_mask_power=0.5)
    stems = separate(song, model)
    np.testing.assert_allclose(stems.vocals, 0.5 * song, atol=1e-4)
    np.testing.assert_allclose(stems.instrumental, 0.25 * song, atol=1e-4)


@pytest.mark.slow  # seconds of CPU: keeps the fast tier under a minute on 2 cores
def test_chunk_size_and_batch_invariance() -> None:
    song = tone_mix(20.0)
    model = Separator(LocalMask(), STFTConfig(), "local")
    reference = separate(song, model, chunk_frames=256, batch_chunks=4)
    same_batching = separate(song, model, chunk_frames=256, batch_chunks=1)
    np.testing.assert_allclose(same_batching.vocals, reference.vocals, atol=1e-5)
    for frames in (128, 512):
        other = separate(song, model, chunk_frames=frames)
        error = other.vocals - reference.vocals
        snr = 10 * np.log10(np.sum(reference.vocals**2) / np.sum(error**2))
        assert snr > 40, f"chunk {frames}: {snr:.1f} dB"


@pytest.mark.slow  # seconds of CPU: keeps the fast tier under a minute on 2 cores
def test_unet_masks_stay_in_unit_interval() -> None:
    torch.manual_seed(0)
    net = UNet(UNetConfig(width=4)).eval()
    for scale in (0.0, 1e-6, 1.0, 1e4):
        mag = torch.rand(2, 1, 1024, 64) * scale
        with torch.no_grad():
            masks = net(mag)
        assert masks.shape == (2, 2, 1024, 64)
        assert float(masks.min()) >= 0.0 and float(masks.max()) <= 1.0
    model = Separator(net, STFTConfig(), "w4")
    spec = torch.randn(3, 2, 2049, 100, dtype=torch.complex64) * 100
    full = model.masks(spec)
    assert full.shape == (3, 2, 2, 2049, 100)
    assert float(full.min()) >= 0.0 and float(full.max()) <= 1.0


@pytest.mark.slow  # seconds of CPU: keeps the fast tier under a minute on 2 cores
def test_progress_reaches_one() -> None:
    seen: list[float] = []
    separate(tone_mix(15.0), Separator(ConstantMask(0.5), STFTConfig(), "c"), seen.append, batch_chunks=1)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 2


def test_bad_chunk_size_is_refused() -> None:
    with pytest.raises(ValueError):
        separate(tone_mix(1.0), Separator(ConstantMask(1.0), STFTConfig(), "c"), chunk_frames=100)
