"""The command line end to end with the shipped checkpoint, on a generated clip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from engine import checkpoint
from engine.audio import decode
from engine.calibrate import MASK_POWERS
from engine.model import UNet, UNetConfig
from engine.settings import BUNDLED_MODEL_PATH
from engine.transforms import STFTConfig
from testbed.workers import TINY_MODEL_WIDTH

from .conftest import tone_mix

ROOT = Path(__file__).resolve().parents[2]
# Validation remixes a test calibration scores on: the default 128 cost most of a minute each.
CALIBRATION_REMIXES = 8


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def test_shipped_model_exists_and_is_small() -> None:
    assert BUNDLED_MODEL_PATH.is_file()
    assert BUNDLED_MODEL_PATH.stat().st_size <= 10 * 1024 * 1024


@pytest.mark.apt  # the command line decodes with ffmpeg
def test_separate_writes_stems_that_sum_to_the_song(tmp_path: Path) -> None:
    song = tmp_path / "my song.wav"
    mix = tone_mix(12.0)
    sf.write(song, mix.T, 44_100, subtype="FLOAT")
    result = run_cli("separate", str(song), "-o", str(tmp_path / "out"), "--format", "flac")
    assert result.returncode == 0, result.stderr
    vocals = decode(tmp_path / "out" / "my song_vocals.flac", allow_silence=True)
    instrumental = decode(tmp_path / "out" / "my song_instrumental.flac", allow_silence=True)
    assert vocals.shape == instrumental.shape == mix.shape
    np.testing.assert_allclose(vocals + instrumental, mix, atol=2e-3)  # 16-bit flac rounding
    assert "%" in result.stderr  # the progress bar


@pytest.mark.apt  # the command line decodes with ffmpeg
def test_preview_writes_cut_stems_and_waveform(tmp_path: Path) -> None:
    song = tmp_path / "long.wav"
    sf.write(song, np.tile(tone_mix(10.0), 4).T, 44_100)
    result = run_cli("separate", str(song), "-o", str(tmp_path), "--preview", "--format", "mp3")
    assert result.returncode == 0, result.stderr
    png = tmp_path / "long_waveform.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    preview = decode(tmp_path / "long_vocals_preview.mp3", allow_silence=True)
    assert abs(preview.shape[1] / 44_100 - 30.0) < 0.2


@pytest.mark.apt  # the command line decodes with ffmpeg
def test_bad_input_exits_2_with_a_message(tmp_path: Path) -> None:
    text = tmp_path / "lyrics.mp3"
    text.write_text("not audio at all\n" * 10)
    result = run_cli("separate", str(text))
    assert result.returncode == 2
    assert "doesn't look like an audio file" in result.stderr
    missing = run_cli("separate", str(tmp_path / "nope.wav"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


@pytest.mark.apt  # the command line decodes with ffmpeg
def test_evaluate_prints_reference_rows(tmp_path: Path) -> None:
    track = tmp_path / "eval" / "t1"
    track.mkdir(parents=True)
    mix = tone_mix(4.0)
    vocals = mix * 0.4
    sf.write(track / "mixture.wav", mix.T, 44_100, subtype="FLOAT")
    sf.write(track / "vocals.wav", vocals.T, 44_100, subtype="FLOAT")
    sf.write(track / "accompaniment.wav", (mix - vocals).T, 44_100, subtype="FLOAT")
    result = run_cli("evaluate", str(tmp_path / "eval"), "--instrumental", "residual")
    assert result.returncode == 0, result.stderr
    assert "mixture (do nothing)" in result.stdout and "oracle IRM" in result.stdout


def held_out_pairs(root: Path) -> Path:
    """What the validation split holds, something to calibrate on: two true pairs of a MIR-1K
    singer and a stereo song of the album held out by name."""
    for name in ("abjones_1_01", "abjones_1_02", "album/Potassium"):
        clip = root / name
        clip.mkdir(parents=True)
        mix = tone_mix(4.0)
        sf.write(clip / "vocals.wav", (mix * 0.4).T, 44_100, subtype="FLOAT")
        sf.write(clip / "accompaniment.wav", (mix * 0.6).T, 44_100, subtype="FLOAT")
    return root


@pytest.mark.slow  # a whole engine process that calibrates: seconds
def test_calibrate_writes_the_chosen_power_into_the_model(tmp_path: Path, tiny_model: Path) -> None:
    data = held_out_pairs(tmp_path / "data")
    model = tmp_path / "model.pt"
    model.write_bytes(tiny_model.read_bytes())
    before = checkpoint.load(model)["version"]
    result = run_cli("calibrate", str(model), str(data), "--examples", str(CALIBRATION_REMIXES))
    assert result.returncode == 0, result.stderr
    payload = checkpoint.load(model)
    assert payload["calibration"]["vocal_mask_power"] in MASK_POWERS
    assert payload["version"] != before
    assert f"vocal mask power {payload['calibration']['vocal_mask_power']}" in result.stdout
    # scored on the remixes and on the held-out song, vocals and instrumental
    assert "remix vocals" in result.stdout and "song vocals" in result.stdout
    assert all(s["song_instrumental"] is not None for s in payload["calibration_scores"].values())


@pytest.mark.slow  # trains, then calibrates
def test_calibrate_exports_a_stopped_run_as_a_calibrated_model(tmp_path: Path) -> None:
    """A run's checkpoint (full precision, optimiser state) becomes a float16 model file with its
    power chosen, the way ``train --export`` ends: a run stopped early is not lost for shipping."""
    torch.manual_seed(0)
    cfg = UNetConfig(width=TINY_MODEL_WIDTH)
    net = UNet(cfg)
    run_checkpoint = tmp_path / "runs" / "best.pt"
    run_checkpoint.parent.mkdir()
    checkpoint.save_atomic(
        {
            "format": checkpoint.FORMAT,
            "kind": "training",
            "unet": cfg.to_dict(),
            "stft": STFTConfig().to_dict(),
            "state_dict": net.state_dict(),
            "ema_state": net.state_dict(),
            "step": 700,
            "history": [{"step": 700, "val_sdr": 1.0}],
        },
        run_checkpoint,
    )
    model = tmp_path / "model.pt"
    result = run_cli(
        "calibrate",
        str(run_checkpoint),
        str(held_out_pairs(tmp_path / "data")),
        "--export",
        str(model),
        "--examples",
        str(CALIBRATION_REMIXES),
    )
    assert result.returncode == 0, result.stderr
    payload = checkpoint.load(model)
    assert payload["kind"] == "model" and payload["step"] == 700
    assert payload["calibration"]["vocal_mask_power"] in MASK_POWERS
    assert all(v.dtype == torch.float16 for v in payload["state_dict"].values() if v.is_floating_point())
    assert checkpoint.load(run_checkpoint)["kind"] == "training"  # the run is left as it was
    assert f"{model}: vocal mask power" in result.stdout
