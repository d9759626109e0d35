"""scripts/build_synthetic_data.py writes festival singing and fluidsynth accompaniment that the
training loader reads as one vocal / one song per file, with a manifest that matches the files."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.data import load_pools

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_synthetic_data.py"
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
MISSING = [t for t in ("text2wave", "festival", "fluidsynth") if not shutil.which(t)]
MISSING += [] if SOUNDFONT.exists() else [str(SOUNDFONT)]

pytestmark = [
    pytest.mark.apt,  # festival's text2wave, fluidsynth and its sound font
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"needs {', '.join(MISSING)} (apt-get install festival festvox-kallpc16k fluidsynth "
        "fluid-soundfont-gm)",
    ),
]


def _build(out: Path) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--minutes", "0.2", "--seed", "1"],
        check=True,
        capture_output=True,
        timeout=180,
    )


def test_builds_synthetic_data_the_loader_reads(tmp_path: Path) -> None:
    pytest.importorskip("music21", reason="build-time requirement: pip install music21")
    out = tmp_path / "synthetic"
    _build(out)

    with (out / "MANIFEST.tsv").open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.flac"))
    assert sorted(r["file"] for r in rows) == files
    assert {r["kind"] for r in rows} == {"vocals", "instrumental"}
    for row in rows:
        audio, rate = sf.read(out / row["file"], always_2d=True)
        expected = (16_000, 1) if row["kind"] == "vocals" else (44_100, 2)
        assert (rate, audio.shape[1]) == expected, row["file"]
        assert (int(row["sample_rate"]), int(row["channels"])) == expected
        assert abs(len(audio) / rate - float(row["seconds"])) < 0.05
        assert np.sqrt(np.mean(audio**2)) > 0.01, f"{row['file']} is silent"
        assert row["music21_work"] and "public domain" in row["licence"]
    for name in ("festival", "festvox-kallpc16k", "fluid-soundfont-gm"):
        assert (out / "licences" / f"{name}.copyright").exists()
    assert (out / "licences" / "music21-corpus-license.txt").exists()

    pools = load_pools([out], "train")
    count = {k: sum(r["kind"] == k for r in rows) for k in ("vocals", "instrumental")}
    assert len(pools.vocals) == count["vocals"] > 0
    assert len(pools.instrumentals) == count["instrumental"] > 0  # one song per file, not summed
    assert set(pools.vocal_bands) == {8000.0}  # festival's 16 kHz, not upsampled

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.flac")}
    _build(out)  # incremental: nothing is rendered again
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.flac")} == stamps
