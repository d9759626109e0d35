"""Karaoke variants rendered from stems stored the way the worker stores them (real local storage,
real ffmpeg encode/decode): where they go, what they sound like, idempotence, no separation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.audio import decode, encode
from engine.karaoke import KaraokeSettings
from jobs.karaoke_variants import karaoke_key, render_karaoke
from jobs.storage import LocalStorage, StorageError
from tests.engine.test_karaoke import F0, cents, guide_stems, pitch_hz, rms_db

pytestmark = pytest.mark.apt  # every test encodes and decodes stems with ffmpeg

JOB = "0123456789abcdef0123456789abcdef"
REPO = Path(__file__).resolve().parents[2]


def store_stems(storage: LocalStorage, tmp_path: Path, fmt: str) -> dict[str, str]:
    """Encode and store a job's stems as ``jobs.tasks`` does; return the record's outputs."""
    instrumental, vocals = guide_stems()
    outputs = {}
    for name, audio in (("instrumental", instrumental), ("vocals", vocals)):
        path = encode(audio, tmp_path / "encoded" / f"{name}.{fmt}", fmt)
        key = f"results/{JOB}/{path.name}"
        storage.put_file(key, path)
        outputs[name] = key
    return outputs


def load(storage: LocalStorage, key: str) -> np.ndarray:
    path = storage.local_path(key)
    assert path is not None
    return decode(path, allow_silence=True)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


@pytest.mark.parametrize("fmt", ["mp3", "wav", "flac"])
def test_variant_is_stored_beside_the_stems_in_their_format(
    storage: LocalStorage, tmp_path: Path, fmt: str
) -> None:
    outputs = store_stems(storage, tmp_path, fmt)
    settings = KaraokeSettings(guide_db=-12, semitones=2, tempo_percent=90)
    key = render_karaoke(storage, JOB, outputs, settings)
    assert key == f"results/{JOB}/karaoke-g12.k2.t90.{fmt}" == karaoke_key(JOB, settings, fmt)
    assert storage.exists(key)
    out, stem = load(storage, key), load(storage, outputs["instrumental"])
    assert abs(out.shape[1] / stem.shape[1] - 100 / 90) < 0.01
    assert abs(cents(pitch_hz(out), F0) - 200) < 10


def test_guide_level_through_storage_and_encoding(storage: LocalStorage, tmp_path: Path) -> None:
    outputs = store_stems(storage, tmp_path, "wav")
    key = render_karaoke(storage, JOB, outputs, KaraokeSettings(guide_db=-6))
    out = load(storage, key)
    instrumental, vocals = load(storage, outputs["instrumental"]), load(storage, outputs["vocals"])
    assert abs(rms_db(out - instrumental) - rms_db(vocals) + 6.0) < 0.5


def test_a_second_call_reuses_the_stored_file(storage: LocalStorage, tmp_path: Path) -> None:
    outputs = store_stems(storage, tmp_path, "mp3")
    settings = KaraokeSettings(guide_db=-18, semitones=-3)
    key = render_karaoke(storage, JOB, outputs, settings)
    stored = storage.read_bytes(key)
    for stem in outputs.values():  # a re-render would now fail: the stems are gone
        storage.delete(stem)
    assert render_karaoke(storage, JOB, outputs, settings) == key
    assert storage.read_bytes(key) == stored
    with pytest.raises(StorageError):  # other settings do need the stems
        render_karaoke(storage, JOB, outputs, KaraokeSettings(guide_db=-18, semitones=-2))


def test_identity_is_the_instrumental_and_off_needs_no_vocals(storage: LocalStorage, tmp_path: Path) -> None:
    outputs = store_stems(storage, tmp_path, "flac")
    before = {obj.key for obj in storage.list(f"results/{JOB}/")}
    assert render_karaoke(storage, JOB, outputs, KaraokeSettings()) == outputs["instrumental"]
    assert {obj.key for obj in storage.list(f"results/{JOB}/")} == before
    storage.delete(outputs["vocals"])
    key = render_karaoke(storage, JOB, outputs, KaraokeSettings(tempo_percent=120))
    assert key.endswith("karaoke-goff.k0.t120.flac")
    assert (
        abs(load(storage, key).shape[1] / load(storage, outputs["instrumental"]).shape[1] - 100 / 120) < 0.01
    )


def test_rendering_never_loads_the_separation_model(storage: LocalStorage, tmp_path: Path) -> None:
    """No second separation: rendering in a fresh process imports neither torch nor the model."""
    outputs = store_stems(storage, tmp_path, "mp3")
    script = (
        "import sys\n"
        "from engine.karaoke import KaraokeSettings\n"
        "from jobs.karaoke_variants import render_karaoke\n"
        "from jobs.storage import LocalStorage\n"
        f"key = render_karaoke(LocalStorage({str(storage.root)!r}), {JOB!r}, {outputs!r},\n"
        "                     KaraokeSettings(guide_db=-12, semitones=1))\n"
        "print(key)\n"
        "assert 'torch' not in sys.modules and 'engine.predict' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    assert storage.exists(done.stdout.strip())


def test_a_song_at_the_length_limit_is_not_refused_for_its_mp3_padding(
    storage: LocalStorage, tmp_path: Path
) -> None:
    """4 s of audio stores as a 4.05 s mp3; a 4-second song limit must still take its stems."""
    outputs = store_stems(storage, tmp_path, "mp3")
    key = render_karaoke(storage, JOB, outputs, KaraokeSettings(guide_db=-6), max_duration_s=4.0)
    assert storage.exists(key)
