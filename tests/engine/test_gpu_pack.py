"""The GPU training pack (scripts/build_gpu_pack.py), the multi-process remix loader
(engine/loader.py) and the device run itself (scripts/gpu_train.sh, on the CPU), on a tiny
generated data tree: what engine.data reads from the pack must be the same material, split the
same way, at the same band-widths; the validation songs must travel apart from the data and be
what the run chooses its checkpoint and mask power on."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from engine.data import Remixer, load_pools
from engine.evaluate import load_tracks
from engine.loader import RemixWorkers
from engine.train import TrainConfig, train

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the pack's worker processes pickle its functions by module name
    spec.loader.exec_module(module)
    return module


def _tone(seconds: float, rate: int, channels: int, f0: float) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * f0 * t) * (np.sin(2 * np.pi * 0.5 * t) > -0.5)
    return np.stack([x * (1 - 0.3 * c) for c in range(channels)], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def data_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A shared-data-like root and an extra-data-like root whose MANIFEST names finished files."""
    train_root = tmp_path_factory.mktemp("src") / "train"
    for name in ("amy_1_01", "amy_1_02", "amy_1_03", "leon_2_01", "abjones_3_01"):  # 16 kHz mono
        clip = train_root / "pairs" / "mir1k" / name
        clip.mkdir(parents=True)
        sf.write(clip / "vocals.ogg", _tone(2.0, 16000, 1, 300), 16000)
        sf.write(clip / "accompaniment.ogg", _tone(2.0, 16000, 1, 110), 16000)
    album = train_root / "pairs" / "album" / "Song"
    album.mkdir(parents=True)
    sf.write(album / "vocals.ogg", _tone(6.0, 44100, 2, 330), 44100)
    sf.write(album / "accompaniment.ogg", _tone(6.0, 44100, 2, 82), 44100)
    for source in ("solo", "saebyulgan"):
        (train_root / "vocals" / source).mkdir(parents=True)
        sf.write(train_root / "vocals" / source / "a.ogg", _tone(3.0, 44100, 1, 440), 44100)
    for song in ("Rock_song", "War_of_freedom"):
        folder = train_root / "instrumental" / "fof" / song
        folder.mkdir(parents=True)
        for part in ("song", "guitar"):
            sf.write(folder / f"{part}.ogg", _tone(20.0, 44100, 2, 98), 44100)
    extra = train_root.parent / "extra"
    (extra / "instrumental").mkdir(parents=True)
    for name in ("done", "being_written"):
        sf.write(extra / "instrumental" / f"{name}.flac", _tone(30.0, 44100, 2, 65), 44100)
    (extra / "MANIFEST.tsv").write_text(
        "package\tfile\tdecision\npkg\tdone.ogg\tkept as instrumental/done.flac\n"
    )
    return train_root, extra


SONGS = ("Band_-_First", "Singer_-_Second")
SONG_S = 4.0


@pytest.fixture(scope="module")
def songs(data_tree: tuple[Path, Path]) -> Path:
    """A ``../shared/data/valid``-like folder: stereo 44.1 kHz stems, no mixture file."""
    valid = data_tree[0].parent / "valid"
    for i, name in enumerate(SONGS):
        (valid / name).mkdir(parents=True)
        sf.write(valid / name / "vocals.ogg", _tone(SONG_S, 44100, 2, 262 + 40 * i), 44100)
        sf.write(valid / name / "accompaniment.ogg", _tone(SONG_S, 44100, 2, 73 + 9 * i), 44100)
    return valid


@pytest.fixture(scope="module")
def pack(data_tree: tuple[Path, Path], songs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    module = _script("build_gpu_pack")
    out = tmp_path_factory.mktemp("pack") / "gpu-pack"
    settings = module.Settings(mir_per_singer=1, excerpt_s=8.0, min_excerpt_s=4.0, target_mb=1.0)
    module.build(list(data_tree), out, settings, jobs=2, log=lambda _m: None, songs=songs)
    return out


@pytest.mark.apt  # the pack is cut with ffmpeg
def test_pack_keeps_layout_rates_and_split(pack: Path) -> None:
    files = {str(p.relative_to(pack)) for p in pack.rglob("*.opus")}
    assert "train/pairs/album/Song/vocals.opus" in files
    assert "train/pairs/mir1k/abjones_3_01/accompaniment.opus" in files  # validation: always
    assert sum(f.startswith("train/pairs/mir1k/amy_") for f in files) == 2  # one pair per singer
    assert "train/instrumental/fof/War_of_freedom/song.opus" in files  # parts summed into one
    assert "extra/instrumental/done.opus" in files
    assert "extra/instrumental/being_written.opus" not in files  # not finished per its MANIFEST
    assert sf.info(str(pack / "train/pairs/mir1k/amy_1_01/vocals.opus")).samplerate == 16000
    album = sf.info(str(pack / "train/pairs/album/Song/vocals.opus"))
    assert (album.samplerate, album.channels) == (48000, 2)
    assert sf.info(str(pack / "train/vocals/solo/a.opus")).channels == 1
    validation_song = sf.info(str(pack / "train/instrumental/fof/War_of_freedom/song.opus"))
    assert validation_song.duration == pytest.approx(20.0, abs=0.05)  # validation: whole
    assert sf.info(str(pack / "train/instrumental/fof/Rock_song/song.opus")).duration < 8.1
    rows = list(csv.DictReader((pack / "MANIFEST.tsv").open(), delimiter="\t"))
    assert {r["file"] for r in rows} == files
    summary = json.loads((pack / "PACK.json").read_text())
    assert summary["size_mb"] <= 1.0 + 0.05
    assert summary["instrumentals_dropped"] == {}


@pytest.mark.apt  # the pack is cut with ffmpeg
def test_pack_carries_the_songs_apart(pack: Path, songs: Path, tmp_path: Path) -> None:
    """The validation songs go whole into valid/, stereo, and are recorded as such; unpacked,
    scripts/gpu_engine.py reads them (without ffmpeg) as the engine's loader does."""
    files = {str(p.relative_to(pack)) for p in (pack / "valid").rglob("*.opus")}
    assert files == {f"valid/{s}/{stem}.opus" for s in SONGS for stem in ("vocals", "accompaniment")}
    for name in files:
        info = sf.info(str(pack / name))
        assert (info.channels, info.samplerate) == (2, 48000)
        assert info.duration == pytest.approx(SONG_S, abs=0.05)  # whole
    summary = json.loads((pack / "PACK.json").read_text())
    assert summary["songs"] == str(songs) and summary["songs_dir"] == "valid"
    assert summary["song_names"] == list(SONGS)
    assert summary["by_kind"]["song/validation"]["files"] == 4
    rows = list(csv.DictReader((pack / "MANIFEST.tsv").open(), delimiter="\t"))
    assert {r["file"] for r in rows if r["kind"] == "song"} == files
    # Never data: no root of the pack's training data reaches them.
    assert not any("valid" in str(f) for f in load_pools([pack / "train"], "train").files)
    _script("build_gpu_pack").unpack(pack, tmp_path / "wav", jobs=2)
    read = _script("gpu_engine").read_songs(tmp_path / "wav" / "valid")
    decoded = load_tracks(tmp_path / "wav" / "valid")  # through ffmpeg, as on the CPU
    assert [t.name for t in read] == [t.name for t in decoded] == list(SONGS)
    for a, b in zip(read, decoded, strict=True):
        assert a.mixture.shape == (2, int(SONG_S * 44100))
        for part in ("mixture", "vocals", "accompaniment"):
            np.testing.assert_allclose(getattr(a, part), getattr(b, part), atol=1e-6)


@pytest.mark.slow  # builds a data tree of clips: seconds
def test_build_keeps_the_songs_out_of_the_data(data_tree: tuple[Path, Path], songs: Path) -> None:
    module = _script("build_gpu_pack")
    module.check_songs_apart(list(data_tree), songs)  # side by side: fine
    for roots in ([songs], [songs.parent], [songs / SONGS[0]]):  # the songs, above, inside
        with pytest.raises(SystemExit, match="overlaps the validation songs"):
            module.check_songs_apart(roots, songs)
    with pytest.raises(SystemExit, match="named 'valid'"):
        module.check_songs_apart([data_tree[0].parent / "other" / "valid"], songs)


def test_excerpts_make_room_from_the_largest_root_first() -> None:
    """Where even the shortest excerpts do not fit, whole training instrumentals go, always from
    the root with the most left: the soundtrack excerpts before the few band songs."""
    module = _script("build_gpu_pack")
    s = module.Settings(min_excerpt_s=10.0, excerpt_s=40.0, wide_kbps=20, target_mb=1.0)

    def item(root: str, i: int):
        return module.Item(
            "instrumental",
            "train",
            [Path(f"{root}{i}.ogg")],
            Path(f"/pack/{root}/{i}.opus"),
            20,
            2,
            120.0,
            root=root,
        )

    items = [item("extra", i) for i in range(8)] + [item("train", i) for i in range(3)]
    one = module.VBR_FACTOR * 10.0 * 40 / 8 / 1000  # MB of one 10-s excerpt at 2 × 20 kbps
    kept, dropped = module.fit_excerpts(items, s, used_mb=1.0 - 0.3 - 5.5 * one)  # room for 5
    assert len(kept) == 5 and len(dropped) == 6
    assert sorted(i.root for i in kept) == ["extra", "extra", "train", "train", "train"]
    assert module.fit_excerpts(items, s, used_mb=0.0) == (items, [])
    # the five kept share the room: 5.5 excerpts of 10 s make five of 11 s
    assert module.choose_excerpt(kept, s, 1.0 - 0.3 - 5.5 * one) == pytest.approx(11.0, abs=0.2)


@pytest.mark.apt  # the pack is cut with ffmpeg
def test_engine_data_loads_both_splits_of_the_pack(pack: Path, tmp_path: Path) -> None:
    roots = [pack / "train", pack / "extra"]
    train_pools = load_pools(roots, "train")
    assert len(train_pools.pairs) == 3  # two MIR-1K singers' one pair each, and the album
    assert sorted(train_pools.pair_bands) == [8000.0, 8000.0, 24000.0]  # 16 kHz stays 16 kHz
    assert len(train_pools.vocals) == 1 and len(train_pools.instrumentals) == 2
    validation = load_pools(roots, "validation")
    assert len(validation.pairs) == 1 and len(validation.vocals) == 1
    assert len(validation.instrumentals) == 1
    # Unpacked to WAV (what the device does before training): the same material and bands.
    _script("build_gpu_pack").unpack(pack, tmp_path / "wav", jobs=2)
    unpacked = load_pools([tmp_path / "wav" / "train", tmp_path / "wav" / "extra"], "train")
    assert sorted(unpacked.pair_bands) == [8000.0, 8000.0, 22050.0]  # 48 kHz became 44.1
    assert [Path(f).with_suffix("") for f in unpacked.files] == [
        Path(f).with_suffix("") for f in train_pools.files
    ]
    for (v1, a1), (v2, a2) in zip(train_pools.pairs, unpacked.pairs, strict=True):
        np.testing.assert_allclose(v1, v2, atol=1e-6)  # engine.data's resampling, done ahead
        np.testing.assert_allclose(a1, a2, atol=1e-6)


@pytest.mark.apt  # the pack is cut with ffmpeg
def test_remix_workers_give_consistent_distinct_batches(pack: Path) -> None:
    remixer = Remixer(load_pools([pack / "train"], "train"), augment=True)
    workers = RemixWorkers(remixer, batch=3, length=20_000, seed=5, workers=2)
    try:
        batches = [workers.get() for _ in range(4)]
    finally:
        workers.close()
    for mix, targets, band in batches:
        assert mix.shape == (3, 2, 20_000) and targets.shape == (3, 2, 2, 20_000)
        assert band.shape == (3,)
        torch.testing.assert_close(mix, targets.sum(dim=1), atol=1e-5, rtol=0)
    assert not torch.equal(batches[0][0], batches[1][0])  # two workers, two generators
    with pytest.raises(RuntimeError):
        workers.get()


@pytest.mark.slow  # trains on the pack (cut with ffmpeg)
def test_training_with_loader_processes(pack: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(
        data=[pack / "train"],
        run_dir=tmp_path / "run",
        steps=3,
        batch=2,
        width=2,
        stereo=True,
        validate_every=3,
        validation_examples=2,
        loaders=2,
    )
    final = train(cfg)
    assert final["step"] == 3 and len(final["history"]) == 1
    # what the device run reports: the best step on the score best.pt is chosen on
    figures = _script("gpu_report").run_figures(cfg.run_dir)
    assert figures["best_step"] == 3
    assert figures["best_val_score"] == final["history"][0]["val_overall"]


def test_model_parts_reassemble_and_stale_parts_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$OUT takes files of ≤ 16 MiB: a model goes back in parts that ``cat`` joins again, and the
    parts present always belong to one model."""
    report = _script("gpu_report")
    monkeypatch.setattr(report, "PART_BYTES", 1000)
    out = tmp_path / "out"
    out.mkdir()
    big, small = tmp_path / "big.pt", tmp_path / "small.pt"
    big.write_bytes(np.random.default_rng(0).bytes(3500))
    small.write_bytes(b"x" * 1500)
    assert report.write_parts(big, out)["parts"] == 4
    info = report.write_parts(small, out)
    assert info["parts"] == 2
    parts = sorted(out.iterdir())
    assert [p.name for p in parts] == ["model.pt.part0", "model.pt.part1"]
    assert b"".join(p.read_bytes() for p in parts) == small.read_bytes()


@pytest.mark.slow  # runs gpu_train.sh on the pack (cut with ffmpeg)
@pytest.mark.timeout(600)
def test_gpu_train_sh_judges_on_the_packed_songs(pack: Path, tmp_path: Path) -> None:
    """The device run end to end on the CPU, on a machine as bare as the device (no museval, no
    ffmpeg): the songs are unpacked, passed to training (best.pt on them, remixes at the songs'
    levels) and to the calibration, kept out of the data, and figures.json carries their scores.
    The one validation scores 4 remixes, not the default 128 (which took most of 2.3 min)."""
    bare = tmp_path / "bare"
    (bare / "museval").mkdir(parents=True)
    (bare / "museval" / "__init__.py").write_text("raise ImportError('not on the device')\n")
    out, work = tmp_path / "out", tmp_path / "work"
    env = {
        **os.environ,
        "OUT": str(out),
        "WORK": str(work),
        "PACK": str(pack),
        "PYTHON": sys.executable,
        "DEVICE": "cpu",
        "PYTHONPATH": str(bare),
        "FFMPEG_BINARY": str(bare / "no-ffmpeg"),
        "FFPROBE_BINARY": str(bare / "no-ffprobe"),
        "GPU_TRAIN_MINUTES": "1",
        "DEADLINE_S": "500",
        "RESERVE_S": "60",
        "WIDTH": "2",
        "BATCH": "2",
        "LOADERS": "0",
        "STEPS": "2",
        "VALIDATE_EVERY": "2",
        "VALIDATION_EXAMPLES": "4",  # the default 128 remixes took most of the run's time
        "WATCH_S": "600",
        "SPEED_MINUTES": "0.05",
        "SHIPPED": str(bare / "none.pt"),
    }
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_train.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=560,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    figures = json.loads((out / "figures.json").read_text())
    assert figures["settings"]["levels"] == "songs"
    assert figures["settings"]["songs"] == str(work / "pack" / "valid")
    config = figures["train_config"]
    assert config["songs"] == str(work / "pack" / "valid") and config["levels"] == "songs"
    assert "valid" not in config["data"] and str(work / "pack" / "train") in config["data"]
    assert figures["judge"] == "songs" and figures["best_step"] == 2
    (entry,) = figures["songs_history"]
    assert set(entry) == {"step", "songs_vocals", "songs_instrumental", "songs_overall", "songs_power"}
    assert figures["best_songs"] == entry
    model = figures["model"]
    assert model["calibrated"] and model["calibration_judge"] == "songs"
    assert set(model["calibration_scores"]["1.0"]["per_song"]) == set(SONGS)
    assert figures["speed"]["trained"]["0.05min"]["x_real_time"] > 0
