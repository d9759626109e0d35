"""A few training steps on a tiny generated data set lower the loss; a run resumes where it stopped."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import checkpoint
from engine.calibrate import MASK_POWERS
from engine.data import (
    GAIN_DB_RANGE,
    SONG_GAIN_DB_RANGE,
    SONG_VOCAL_FREE_SHARE,
    SONG_VOICED_DB,
    STEREO_PAIR_SHARE,
    TRUE_PAIR_SHARE,
    VOCAL_FREE_SHARE,
    Pools,
    Remixer,
    load_pools,
    scan,
    song_patches,
)
from engine.model import UNet, UNetConfig, stereo_from_mono
from engine.predict import load_model, separate
from engine.train import (
    PATCH_FRAMES,
    WAVE_WEIGHT,
    TrainConfig,
    masked_l1,
    masked_loss,
    masked_wave_l1,
    snapshot_path,
    train,
)
from engine.transforms import STFTConfig

from .conftest import SR


def test_scan_finds_pairs_and_pools(tiny_data: Path) -> None:
    found = scan(tiny_data)
    assert len(found["pairs"]) == 5
    assert len(found["vocals"]) == 1
    assert [len(g) for g in found["instrumentals"]] == [2]  # parts of one song are summed


def test_remixes_are_consistent(tiny_data: Path) -> None:
    for augment, production in ((False, False), (True, False), (True, True)):
        remixer = Remixer(load_pools(tiny_data, "train"), augment=augment, production=production)
        mix, vocals, acc, band = remixer.batch(6, 50_000, np.random.default_rng(1))
        assert mix.shape == vocals.shape == acc.shape == (6, 2, 50_000)
        np.testing.assert_allclose(mix, vocals + acc, atol=1e-6)
        assert np.max(np.abs(mix)) <= 0.99 + 1e-6
        assert np.all(band == 22_050)


def test_band_limited_examples_are_not_scored_above_theirband() -> None:
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

        def masks_for(self, spec: torch.Tensor) -> torch.Tensor:
            m = torch.full((*spec.shape[:2], 2, *spec.shape[2:]), 0.5)
            m[..., math.ceil(8000 / (44_100 / 4096)) :, :] = self.high  # bins from 8 kHz up
            return m

    band = torch.tensor([8000.0])
    assert float(masked_l1(Mask(0.0), mix, targets, cfg, band)) == pytest.approx(0.0, abs=1e-7)
    assert float(masked_l1(Mask(0.0), mix, targets, cfg)) > 0.01
    full = torch.tensor([22050.0])
    assert float(masked_l1(Mask(0.0), mix, targets, cfg, full)) > 0.01


def test_waveform_loss_scores_what_the_masks_output() -> None:
    """Masks that give back exactly the stems cost nothing on waveforms; wrong ones cost, and
    ``magnitude+wave`` is the magnitude loss plus the weighted waveform term."""
    cfg = STFTConfig()
    rng = np.random.default_rng(0)
    n = (PATCH_FRAMES - 1) * cfg.hop
    vocals = torch.from_numpy(rng.normal(0, 0.1, (1, 2, n)).astype(np.float32))
    targets = torch.stack([vocals, torch.zeros_like(vocals)], dim=1)  # no accompaniment

    class Mask(torch.nn.Module):
        def __init__(self, vocal: float) -> None:
            super().__init__()
            self.vocal = vocal

        def masks_for(self, spec: torch.Tensor) -> torch.Tensor:
            m = torch.empty((*spec.shape[:2], 2, cfg.bins, spec.shape[-1]))
            m[:, :, 0], m[:, :, 1] = self.vocal, 1 - self.vocal
            return m

    assert float(masked_wave_l1(Mask(1.0), vocals, targets, cfg)) == pytest.approx(0.0, abs=1e-5)
    wrong = float(masked_wave_l1(Mask(0.5), vocals, targets, cfg))
    assert wrong > 0.01
    both = masked_loss("magnitude+wave", Mask(0.5), vocals, targets, cfg)
    alone = masked_l1(Mask(0.5), vocals, targets, cfg)
    assert float(both) == pytest.approx(float(alone) + WAVE_WEIGHT * wrong, rel=1e-4)
    assert float(masked_loss("magnitude", Mask(0.5), vocals, targets, cfg)) == float(alone)
    # phase-sensitive: exact masks cost nothing; with a delayed target the mixture's phase is wrong
    assert float(masked_loss("phase", Mask(1.0), vocals, targets, cfg)) == pytest.approx(0, abs=1e-4)
    delayed = torch.stack([torch.roll(vocals, 300, dims=-1), torch.zeros_like(vocals)], dim=1)
    assert float(masked_loss("phase", Mask(1.0), vocals, delayed, cfg)) > 3 * float(
        masked_loss("magnitude", Mask(1.0), vocals, delayed, cfg)
    )


@pytest.mark.slow  # trains for real, minutes on 2 cores
@pytest.mark.timeout(900)  # trains for real: slow on a loaded 2-core machine
def test_training_lowers_the_loss_and_resumes(tiny_data: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(
        data=tiny_data,
        run_dir=tmp_path / "run",
        steps=30,
        batch=2,
        lr=3e-3,
        width=2,
        validate_every=10,
        seed=3,
        validation_examples=2,
        export=tmp_path / "model.pt",
        keep_snapshots=True,
    )
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
    assert last["manifest"]["validation"][0]["files"] == 4  # a MIR-1K pair and the album song
    assert [h["step"] for h in last["history"]] == [10, 20, 30]
    # Chosen on the calibrated overall score: the mean of the remix vocals and the held-out song's
    # vocals and instrumental at the best power, the one best.pt was saved at.
    for h in last["history"]:
        assert h["val_power"] in MASK_POWERS
        parts = (h["val_remix_vocals"], h["val_song_vocals"], h["val_song_instrumental"])
        assert all(math.isfinite(p) for p in parts)
        assert h["val_overall"] == pytest.approx(sum(parts) / 3, abs=2e-3)
    chosen = max(last["history"], key=lambda h: h["val_overall"])
    assert last["best"] == pytest.approx(chosen["val_overall"], abs=1e-3)
    assert checkpoint.load(cfg.run_dir / "best.pt")["step"] == chosen["step"]
    # Every validation's averaged weights were kept as a model, to re-choose among later.
    for step in (10, 20, 30):
        snapshot = load_model(snapshot_path(cfg.run_dir, step))
        assert snapshot.version.startswith("unet-w2-")
        assert checkpoint.load(snapshot_path(cfg.run_dir, step))["step"] == step

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
    chosen_power = payload["calibration_scores"][str(model.vocal_mask_power)]
    assert chosen_power["overall"] == max(s["overall"] for s in payload["calibration_scores"].values())
    assert model.version == payload["version"] == checkpoint.model_version(payload)
    assert checkpoint.model_version({**payload, "calibration": None}) != model.version
    assert load_model(cfg.export, vocal_mask_power=1.0).vocal_mask_power == 1.0
    stems = separate(mix[0], model)
    assert stems.vocals.shape == mix[0].shape

    # Fine-tune: a new run starts from the exported model's weights, not from random ones.
    tuned = TrainConfig(
        data=tiny_data, run_dir=tmp_path / "tuned", steps=0, width=2, validation_examples=2, init=cfg.export
    )
    start = train(tuned)
    assert start["step"] == 0
    shipped = checkpoint.load(cfg.export)["state_dict"]
    for name, value in start["state_dict"].items():
        torch.testing.assert_close(value, shipped[name].to(value.dtype))
    with pytest.raises(ValueError, match="another model shape"):
        train(
            TrainConfig(
                data=tiny_data,
                run_dir=tmp_path / "wide",
                steps=0,
                width=4,
                validation_examples=2,
                init=cfg.export,
            )
        )


@pytest.mark.slow  # seconds of CPU: keeps the fast tier under a minute on 2 cores
def test_stereo_network_starts_as_the_mono_one() -> None:
    """From mono weights, a stereo network gives the mono mask on a centred (L = R) song, the same
    mask on both channels of any song, and masks that differ where the channels do."""
    torch.manual_seed(0)
    mono = UNet(UNetConfig(width=2)).eval()
    stereo = UNet(UNetConfig(width=2, stereo=True)).eval()
    stereo.load_state_dict(stereo_from_mono(mono.state_dict()))
    spec = torch.randn(2, 2, 1024, 64, dtype=torch.complex64) * 3
    centred = spec[:, :1].expand(-1, 2, -1, -1)
    with torch.no_grad():
        torch.testing.assert_close(stereo.masks_for(centred), mono.masks_for(centred))
        shared = stereo.masks_for(spec)
        assert shared.shape == (2, 2, 2, 1024, 64)
        torch.testing.assert_close(shared[:, 0], shared[:, 1])
        assert not torch.allclose(shared, mono.masks_for(spec))


@pytest.mark.slow  # trains for real, minutes on 2 cores
@pytest.mark.timeout(900)
def test_stereo_run_fine_tunes_a_mono_model(tiny_data: Path, tmp_path: Path) -> None:
    """``--stereo --init mono.pt``: the run starts from the mono weights, trains, exports a stereo
    model whose version says so, and separation loads it like any other."""
    mono_cfg = TrainConfig(
        data=tiny_data,
        run_dir=tmp_path / "mono",
        steps=4,
        batch=2,
        width=2,
        validate_every=4,
        validation_examples=2,
        export=tmp_path / "mono.pt",
    )
    train(mono_cfg)
    cfg = TrainConfig(
        data=tiny_data,
        run_dir=tmp_path / "st",
        steps=6,
        batch=2,
        width=2,
        stereo=True,
        validate_every=3,
        validation_examples=2,
        init=tmp_path / "mono.pt",
        export=tmp_path / "st.pt",
    )
    first = train(TrainConfig(**{**cfg.__dict__, "steps": 0, "export": None}))
    mono_state = checkpoint.averaged_weights(checkpoint.load(tmp_path / "mono.pt"))
    expected = stereo_from_mono(mono_state)
    for name, value in first["ema_state"].items():
        torch.testing.assert_close(value.float(), expected[name].float(), msg=name)
    train(cfg)
    model = load_model(cfg.export)
    assert model.version.startswith("unet-st2-")
    song = np.random.default_rng(0).normal(0, 0.1, (2, SR * 3)).astype(np.float32)
    stems = separate(song, model)
    np.testing.assert_allclose(stems.vocals + stems.instrumental, song, atol=1e-5)
    with pytest.raises(ValueError, match="another model shape"):
        train(TrainConfig(**{**mono_cfg.__dict__, "run_dir": tmp_path / "back", "init": cfg.export}))


def test_stereo_pairs_get_their_share(tmp_path: Path) -> None:
    """Five stereo songs among a thousand mono pairs still make up STEREO_PAIR_SHARE of the true
    pairs drawn, or the share a run asks for."""
    rng = np.random.default_rng(0)
    mono = (np.ones((1, 1000), np.float32), np.ones((1, 1000), np.float32))
    stereo = (np.ones((2, 1000), np.float32), np.ones((2, 1000), np.float32))
    pools = Pools(pairs=[mono] * 1000 + [stereo] * 5)
    for remixer, expected in (
        (Remixer(pools), STEREO_PAIR_SHARE),
        (Remixer(pools, stereo_pair_share=0.9), 0.9),
    ):
        picks = [remixer._pick_pair(rng) for _ in range(4000)]
        share = np.mean([i >= 1000 for i in picks])
        assert share == pytest.approx(expected, abs=0.03)


def test_song_patches_cut_the_held_out_song_as_recorded() -> None:
    """Consecutive patches of vocals + accompaniment as they are; a patch with a silent
    accompaniment is left out, and only patches where the voice is within SONG_VOICED_DB of the
    mix count for the vocals score."""
    length = 1000
    t = np.arange(5 * length) / SR
    acc = np.stack([np.sin(2 * np.pi * 110 * t)] * 2).astype(np.float32)
    acc[:, 4 * length :] = 0  # the song's silent end
    vocal = np.stack([np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32)
    vocal[:, length : 2 * length] *= 10 ** ((SONG_VOICED_DB - 6) / 20)  # a faint echo tail
    vocal[:, 2 * length : 3 * length] = 0  # an instrumental break
    mix, targets, voiced = song_patches([(vocal, acc)], length)
    assert mix.shape == (4, 2, length) and targets.shape == (4, 2, 2, length)
    np.testing.assert_allclose(mix, targets[:, 0] + targets[:, 1])
    np.testing.assert_array_equal(targets[1, 0], vocal[:, length : 2 * length])
    assert voiced.tolist() == [True, False, False, True]
    assert song_patches([(vocal[:, :length], acc[:, :length])], 2 * length) is None


@pytest.mark.slow  # seconds of CPU: keeps the fast tier under a minute on 2 cores
def test_song_levels_follow_real_songs_and_keep_a_recorded_mix_as_it_is() -> None:
    """``levels="songs"``: remixed voices lie in SONG_GAIN_DB_RANGE against the band, more examples
    are vocal-free, and a stereo true pair (a real mix) keeps its recorded level — far under any
    remix level here, so it is told apart by its level alone."""
    rng = np.random.default_rng(0)
    t = np.arange(40_000) / SR
    tone = np.sin(2 * np.pi * 220 * t).astype(np.float32)
    recorded_db = 20 * np.log10(0.01 / 0.3)  # the pair's voice against its band
    pools = Pools(
        pairs=[(np.stack([tone, tone]) * 0.01, np.stack([tone, -tone]) * 0.3)],
        pair_bands=[22_050.0],
        vocals=[tone[None] * 0.5],
        vocal_bands=[22_050.0],
        instrumentals=[np.stack([tone, tone]) * 0.2],
        instrumental_bands=[22_050.0],
    )

    def level(vocals: np.ndarray, acc: np.ndarray) -> float:
        return float(20 * np.log10(np.sqrt(np.mean(vocals**2)) / np.sqrt(np.mean(acc**2))))

    draws = 800
    for levels, (lo, hi), free in (
        ("remix", GAIN_DB_RANGE, VOCAL_FREE_SHARE),
        ("songs", SONG_GAIN_DB_RANGE, SONG_VOCAL_FREE_SHARE),
    ):
        remixer = Remixer(pools, levels=levels)
        samples = [remixer.sample(20_000, rng) for _ in range(draws)]
        voiced = [level(v, a) for _m, v, a, _b in samples if v.any()]
        assert 1 - len(voiced) / draws == pytest.approx(free, abs=0.05)
        as_recorded = [x for x in voiced if abs(x - recorded_db) < 0.1]
        assert all(lo - 0.5 <= x <= hi + 0.5 for x in voiced if x not in as_recorded)
        expected = TRUE_PAIR_SHARE if levels == "songs" else 0.0
        assert len(as_recorded) / len(voiced) == pytest.approx(expected, abs=0.05)
    with pytest.raises(ValueError):
        Remixer(pools, levels="loud")
