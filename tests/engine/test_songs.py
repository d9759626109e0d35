"""The judge on real songs (engine.songs): folders without a mixture, one pass for every power,
the fast SDR, and calibration and training choosing on the songs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from engine import checkpoint
from engine import songs as judge
from engine.calibrate import calibrate_model_file
from engine.evaluate import load_tracks
from engine.model import UNet, UNetConfig
from engine.predict import Separator, load_model, separate, separate_powers
from engine.transforms import STFTConfig

from .conftest import tone_mix
from .test_separate import LocalMask

SR = 44_100


def song_folder(root: Path, names: tuple[str, ...] = ("a", "b"), seconds: float = 4.0) -> Path:
    """Songs as ``valid/`` ships them: vocals and accompaniment, no mixture file."""
    for i, name in enumerate(names):
        song = root / name
        song.mkdir(parents=True)
        mix = tone_mix(seconds, seed=i)
        sf.write(song / "vocals.wav", (mix * 0.4).T, SR, subtype="FLOAT")
        sf.write(song / "accompaniment.wav", (mix * 0.6).T, SR, subtype="FLOAT")
    return root


@pytest.mark.apt  # the songs are decoded by ffmpeg
def test_a_folder_without_mixtures_is_scored_on_the_sum_of_its_stems(tmp_path: Path) -> None:
    tracks = load_tracks(song_folder(tmp_path / "valid"))
    assert [t.name for t in tracks] == ["a", "b"]
    for t in tracks:
        np.testing.assert_allclose(t.mixture, t.vocals + t.accompaniment, atol=1e-6)


def test_separate_powers_is_separate_at_each_power() -> None:
    audio = tone_mix(9.0)
    model = Separator(LocalMask(), STFTConfig(), "test", "cpu")
    by_power = separate_powers(audio, model, (0.3, 1.0))
    for p in (0.3, 1.0):
        model.vocal_mask_power = p
        np.testing.assert_allclose(by_power[p], separate(audio, model).vocals, atol=1e-5)
    assert not np.allclose(by_power[0.3], by_power[1.0])


def test_frame_sdr_is_the_median_frame_and_skips_silent_frames() -> None:
    rng = np.random.default_rng(0)
    reference = rng.standard_normal((2, SR * 5)).astype(np.float32)
    reference[:, SR * 3 :] = 0  # two silent seconds: no SDR there, whatever the estimate
    estimate = reference * 0.9  # error a tenth of the signal: 20 dB
    estimate[:, SR * 3 :] = 1.0
    assert judge.frame_sdr(reference, estimate) == pytest.approx(20.0, abs=1e-3)
    assert math.isnan(judge.frame_sdr(np.zeros((2, SR * 2)), estimate[:, : SR * 2]))


@pytest.mark.apt  # the songs are decoded by ffmpeg
def test_fast_and_museval_agree_on_a_plain_gain_error(tmp_path: Path) -> None:
    """Where the error is no filter of the reference, BSSEval's SDR is the plain one: the two
    metrics must then give the same figure (what makes the fast one a stand-in)."""
    track = load_tracks(song_folder(tmp_path / "valid", ("a",)))[0]
    rng = np.random.default_rng(1)
    vocals = track.vocals + 0.05 * rng.standard_normal(track.vocals.shape).astype(np.float32)
    fast = judge.score_track(track, vocals, "fast")
    slow = judge.score_track(track, vocals, "museval")
    assert fast == pytest.approx(slow, abs=0.5)


def test_best_power_ties_go_to_the_power_nearer_one() -> None:
    same = judge.PowerScores({"a": (3.0, 9.0)})
    assert judge.best_power({0.35: same, 0.8: same, 1.2: same}) == 0.8
    better = judge.PowerScores({"a": (3.5, 9.0)})
    assert judge.best_power({0.35: better, 0.8: same}) == 0.35


@pytest.mark.apt  # the songs are decoded by ffmpeg
def test_calibration_on_songs_writes_the_songs_choice(tmp_path: Path, tiny_model: Path) -> None:
    model = tmp_path / "model.pt"
    model.write_bytes(tiny_model.read_bytes())
    valid = song_folder(tmp_path / "valid")
    power, version, scores = calibrate_model_file(model, [], songs=valid)
    payload = checkpoint.load(model)
    assert set(scores) == set(judge.SONG_POWERS)
    assert power == judge.best_power(scores) and payload["calibration"]["vocal_mask_power"] == power
    assert payload["calibration_judge"] == "songs"
    assert payload["calibration_scores"][str(power)]["overall"] == pytest.approx(
        scores[power].overall, abs=1e-3
    )
    assert load_model(model).vocal_mask_power == power and payload["version"] == version


@pytest.mark.slow  # trains for real
@pytest.mark.timeout(900)  # trains for real: slow on a loaded 2-core machine
def test_training_with_songs_chooses_best_on_the_songs(tiny_data: Path, tmp_path: Path) -> None:
    from engine.train import TrainConfig, train

    valid = song_folder(tmp_path / "valid")
    cfg = TrainConfig(
        data=tiny_data,
        run_dir=tmp_path / "run",
        steps=20,
        batch=2,
        lr=3e-3,
        width=2,
        validate_every=10,
        seed=3,
        validation_examples=2,
        songs=valid,
        export=tmp_path / "model.pt",
    )
    train(cfg)
    last = checkpoint.load(cfg.run_dir / "last.pt")
    assert last["best_judge"] == "songs"
    for h in last["history"]:
        assert h["songs_power"] in judge.SONG_POWERS
        assert h["songs_overall"] == pytest.approx(
            (h["songs_vocals"] + h["songs_instrumental"]) / 2, abs=2e-3
        )
    chosen = max(last["history"], key=lambda h: h["songs_overall"])
    assert last["best"] == pytest.approx(chosen["songs_overall"], abs=1e-3)
    assert checkpoint.load(cfg.run_dir / "best.pt")["step"] == chosen["step"]
    exported = checkpoint.load(cfg.export)
    assert exported["calibration_judge"] == "songs"


@pytest.mark.apt  # the songs are decoded by ffmpeg
def test_a_run_resumed_under_the_song_judge_starts_its_best_afresh(tmp_path: Path) -> None:
    """A remix score (~13 dB) and a song score (~6 dB) are not on one scale: a run that gains songs
    when resumed must not keep a remix 'best' that no song score can beat."""
    from engine.train import TrainConfig, train

    torch.manual_seed(0)
    cfg_net = UNetConfig(width=2)
    net = UNet(cfg_net)
    run = tmp_path / "run"
    run.mkdir()
    opt = torch.optim.Adam(net.parameters())
    checkpoint.save_atomic(
        {
            "format": checkpoint.FORMAT,
            "kind": "training",
            "unet": cfg_net.to_dict(),
            "stft": STFTConfig().to_dict(),
            "state_dict": net.state_dict(),
            "ema_state": net.state_dict(),
            "optimizer": opt.state_dict(),
            "step": 5,
            "train_seconds": 1.0,
            "history": [],
            "best": 99.0,
        },  # no best_judge: an older run
        run / "last.pt",
    )
    tiny = tmp_path / "data"
    song_folder(tiny / "pairs", ("abjones_1_01", "x_1_01", "y_2_01"))
    cfg = TrainConfig(
        data=tiny,
        run_dir=run,
        steps=10,
        batch=2,
        width=2,
        validate_every=5,
        validation_examples=2,
        songs=song_folder(tmp_path / "valid", ("a",)),
    )
    train(cfg)
    last = checkpoint.load(run / "last.pt")
    assert last["best_judge"] == "songs" and last["best"] < 99.0
    assert checkpoint.load(run / "best.pt")["step"] == 10
