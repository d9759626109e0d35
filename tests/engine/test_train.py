"""A few training steps on a tiny generated data set lower the loss; a run resumes where it stopped."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from engine import checkpoint
from engine.calibrate import MASK_POWERS
from engine.data import Remixer, load_pools, scan
from engine.model import UNet, UNetConfig
from engine.predict import load_model, separate
from engine.train import PATCH_FRAMES, TrainConfig, masked_l1, train
from engine.transforms import STFTConfig

SR = 44_100


def _voice(seconds: float, f0: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5.5 * t))) / SR
    gate = (np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6)) > -0.3).astype(np.float32)
    return (sum(np.sin(k * phase) / k for k in range(1, 10)) * 0.2 * gate).astype(np.float32)


def _band(seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    drums = rng.normal(0, 0.1, t.size) * np.exp(-((t * 2) % 1) * 20)
    bass = 0.2 * np.sin(2 * np.pi * rng.choice([41.2, 55.0, 61.7]) * t)
    return (drums + bass).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pairs (two 'singers', one held out for validation as MIR-1K names are) and both pools."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for name in ("amy_1_01", "amy_1_02", "leon_2_01", "abjones_3_01"):
        clip = root / "pairs" / name
        clip.mkdir(parents=True)
        sf.write(clip / "vocals.wav", _voice(4.0, rng.uniform(180, 400), rng), SR)
        sf.write(clip / "accompaniment.wav", _band(4.0, rng), SR)
    (root / "vocals" / "solo").mkdir(parents=True)
    sf.write(root / "vocals" / "solo" / "a.wav", _voice(5.0, 300, rng), SR)
    song = root / "instrumental" / "band" / "song1"
    song.mkdir(parents=True)
    sf.write(song / "drums.wav", np.stack([_band(5.0, rng)] * 2).T, SR)
    sf.write(song / "bass.wav", np.stack([_band(5.0, rng)] * 2).T, SR)
    return root


def test_scan_finds_pairs_and_pools(tiny_data: Path) -> None:
    found = scan(tiny_data)
    assert len(found["pairs"]) == 4
    assert len(found["vocals"]) == 1
    assert [len(g) for g in found["instrumentals"]] == [2]  # parts of one song are summed


def test_remixes_are_consistent(tiny_data: Path) -> None:
    for augment in (False, True):
        remixer = Remixer(load_pools(tiny_data, "train"), augment=augment)
        mix, vocals, acc, band = remixer.batch(6, 50_000, np.random.default_rng(1))
        assert mix.shape == vocals.shape == acc.shape == (6, 2, 50_000)
        np.testing.assert_allclose(mix, vocals + acc, atol=1e-6)
        assert np.max(np.abs(mix)) <= 0.99 + 1e-6
        assert np.all(band == 22_050)


def test_band_limited_examples_are_not_scored_above_their_band() -> None:
    """A 16 kHz vocal says nothing about 8-16 kHz: the loss must not care what the mask does there."""
    cfg = STFTConfig()
    rng = np.random.default_rng(0)
    n = (PATCH_FRAMES - 1) * cfg.hop
    mix = torch.from_numpy(rng.normal(0, 0.1, (1, 2, n)).astype(np.float32))
    targets = torch.stack([mix * 0.5, mix * 0.5], dim=1)

    class Mask(torch.nn.Module):
        def __init__(self, high: float) -> None:
            super().__init__()
            self.high = high

        def forward(self, mag: torch.Tensor) -> torch.Tensor:
            m = torch.full((mag.shape[0], 2, *mag.shape[2:]), 0.5)
            m[:, :, math.ceil(8000 / (44_100 / 4096)) :] = self.high  # bins from 8 kHz up
            return m

    band = torch.tensor([8000.0])
    assert float(masked_l1(Mask(0.0), mix, targets, cfg, band)) == pytest.approx(0.0, abs=1e-7)
    assert float(masked_l1(Mask(0.0), mix, targets, cfg)) > 0.01
    full = torch.tensor([22050.0])
    assert float(masked_l1(Mask(0.0), mix, targets, cfg, full)) > 0.01


@pytest.mark.timeout(900)  # trains for real: slow on a loaded 2-core machine
def test_training_lowers_the_loss_and_resumes(tiny_data: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(data=tiny_data, run_dir=tmp_path / "run", steps=30, batch=2, lr=3e-3,
                      width=2, validate_every=10, seed=3, validation_examples=2, export=tmp_path / "model.pt")
    rng = np.random.default_rng(99)
    mix, vocals, acc, _ = Remixer(load_pools(tiny_data, "train")).batch(
        4, (PATCH_FRAMES - 1) * STFTConfig().hop, rng
    )
    batch = (torch.from_numpy(mix), torch.from_numpy(np.stack([vocals, acc], axis=1)))

    def loss_of(state: dict[str, torch.Tensor] | None) -> float:
        torch.manual_seed(cfg.seed)  # the same initial weights train() starts from
        net = UNet(UNetConfig(width=cfg.width))
        if state is not None:
            net.load_state_dict(state)
        net.eval()
        with torch.no_grad():
            return float(masked_l1(net, *batch, STFTConfig()))

    before = loss_of(None)
    train(cfg)
    last = checkpoint.load(cfg.run_dir / "last.pt")
    assert last["step"] == 30
    after = loss_of(last["state_dict"])
    assert after < 0.8 * before, (before, after)
    assert last["manifest"]["train"][0]["files"] == 9
    assert last["manifest"]["validation"][0]["files"] == 2
    assert [h["step"] for h in last["history"]] == [10, 20, 30]

    # Resume: the same run folder continues from step 30 instead of starting over.
    cfg.steps = 40
    resumed = train(cfg)
    assert resumed["step"] == 40
    assert [h["step"] for h in resumed["history"]] == [10, 20, 30, 40]

    model = load_model(cfg.export)
    assert model.version.startswith("unet-w2-")
    # The export is calibrated on the validation split; the power is part of the version.
    payload = checkpoint.load(cfg.export)
    assert model.vocal_mask_power == payload["calibration"]["vocal_mask_power"] in MASK_POWERS
    assert set(payload["calibration_scores"]) == {str(p) for p in MASK_POWERS}
    assert model.version == payload["version"] == checkpoint.model_version(payload)
    assert checkpoint.model_version({**payload, "calibration": None}) != model.version
    assert load_model(cfg.export, vocal_mask_power=1.0).vocal_mask_power == 1.0
    stems = separate(mix[0], model)
    assert stems.vocals.shape == mix[0].shape

    # Fine-tune: a new run starts from the exported model's weights, not from random ones.
    tuned = TrainConfig(data=tiny_data, run_dir=tmp_path / "tuned", steps=0, width=2,
                        validation_examples=2, init=cfg.export)
    start = train(tuned)
    assert start["step"] == 0
    shipped = checkpoint.load(cfg.export)["state_dict"]
    for name, value in start["state_dict"].items():
        torch.testing.assert_close(value, shipped[name].to(value.dtype))
    with pytest.raises(ValueError, match="another model shape"):
        train(TrainConfig(data=tiny_data, run_dir=tmp_path / "wide", steps=0, width=4,
                          validation_examples=2, init=cfg.export))
