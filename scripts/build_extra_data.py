"""Build an extra instrumental pool from Debian's game soundtracks, with a manifest and licences.

    python scripts/build_extra_data.py --out ../data-cache/extra [--model models/vocals-unet.pt]

Reproducible from Debian's archive alone: each package is fetched with ``apt-get download`` and
unpacked with ``dpkg-deb -x`` (nothing is installed), its music files are decoded with ffmpeg
(libopenmpt for tracker modules), and written as ``<out>/instrumental/<package>__<track>.flac``,
the layout ``engine.data`` reads as one song per file. Each package's copyright file is copied to
``<out>/licences/``. These are *believed* instrumental; the data README asks to check for voice,
so every track is screened with a separation model: where the model hears voice in a sizeable
share of the track (a choir, a sung theme), the track is left out, and the manifest says so.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.audio import decode, encode
from engine.constants import SAMPLE_RATE
from engine.errors import AudioError

PACKAGES = (
    "hyperrogue-music",
    "asc-music",
    "extremetuxracer-data",
    "xmoto-data",
    "pingus-data",
    "drascula-music",
    # added in the second round (docs/BENCHMARKS.md, "Training experiments"): pop, electronic,
    # rock and orchestral game soundtracks
    "supertuxkart-data",
    "warzone2100-music",
    "hedgewars-data",
    "openarena-data",
    "freedroidrpg-data",
    "fb-music-high",
    "megaglest-data",
    "wesnoth-1.16-music",
    "0ad-data",
    "widelands-data",
    "supertux-data",
    "lincity-ng-data",
    # third round (issue "Model quality II"): about 550 min of soundtracks the data README lists;
    # rock/metal, pop and electronic (MAX_PACKAGE_S still caps each game's share)
    "ufoai-music",
    "planetblupi-music-ogg",
    "nexuiz-music",
    "singularity-music",
)
MUSIC_SUFFIXES = {".ogg", ".opus", ".mp3", ".wav", ".flac", ".it", ".s3m", ".xm", ".mod"}
ARCHIVE_SUFFIXES = {".pk3"}  # zip archives of game data (OpenArena keeps its music in them)
MIN_TRACK_S = 30.0  # shorter files are jingles and sound effects
MAX_TRACK_S = 240.0  # long tracks are cut: variety across songs matters more than length
MAX_PACKAGE_S = 20 * 60.0  # no single game's style may dominate the pool
VOICE_FRAME_S = 0.5
VOICE_DOMINANT = 0.5  # a frame "has voice" when vocal RMS > this share of the mixture's
MAX_VOICE_SHARE = 0.15  # tracks with voice in more frames than this are left out


def voice_share(audio: np.ndarray, model: object) -> float:
    from engine.predict import separate

    vocals = separate(audio, model).vocals.mean(axis=0)
    mix = audio.mean(axis=0)
    hop = int(VOICE_FRAME_S * SAMPLE_RATE)
    n = mix.size // hop
    v = np.sqrt(np.mean(vocals[: n * hop].reshape(n, hop) ** 2, axis=1))
    m = np.sqrt(np.mean(mix[: n * hop].reshape(n, hop) ** 2, axis=1)) + 1e-9
    loud = m > 1e-3
    return float(np.mean(v[loud] > VOICE_DOMINANT * m[loud])) if loud.any() else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="../data-cache/extra")
    parser.add_argument("--model", help="model used to screen for voice (default: shipped)")
    parser.add_argument("--packages", nargs="+", default=list(PACKAGES))
    args = parser.parse_args()
    from engine.predict import load_model

    model = load_model(args.model)
    out = Path(args.out).resolve()
    (out / "instrumental").mkdir(parents=True, exist_ok=True)
    (out / "licences").mkdir(exist_ok=True)
    debs = out / "debs"
    debs.mkdir(exist_ok=True)
    manifest_path = out / "MANIFEST.tsv"
    done = set()
    if manifest_path.exists():  # resume: an interrupted build keeps what it already decided
        for line in manifest_path.read_text().splitlines()[1:]:
            if line and not line.startswith("#"):
                done.add(tuple(line.split("\t")[:3:2]))
    else:
        manifest_path.write_text("package\tversion\tfile\tseconds\tvoice_share\tdecision\n")
    manifest = manifest_path.open("a", newline="")
    writer = csv.writer(manifest, delimiter="\t")
    rows: list[list[str]] = []

    def decide(row: list[str]) -> None:
        rows.append(row)
        writer.writerow(row)
        manifest.flush()

    for package in args.packages:
        if not list(debs.glob(f"{package}_*.deb")):
            subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
        deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
        version = deb.stem.split("_")[1]
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
            copyright_file = next(Path(tmp).glob("usr/share/doc/*/copyright"), None)
            if copyright_file:
                shutil.copy(copyright_file, out / "licences" / f"{package}.copyright")
            for archive in [p for p in Path(tmp).rglob("*") if p.suffix.lower() in ARCHIVE_SUFFIXES]:
                whole = "music" in archive.name.lower()  # nexuiz: music.pk3 holds sound/cdtracks/
                with zipfile.ZipFile(archive) as z:
                    for member in z.namelist():
                        wanted = whole or "music" in member.lower()
                        if wanted and Path(member).suffix.lower() in MUSIC_SUFFIXES:
                            z.extract(member, Path(tmp) / "unpacked" / archive.stem)
            files = sorted(p for p in Path(tmp).rglob("*") if p.suffix.lower() in MUSIC_SUFFIXES)
            total = 0.0
            for path in files:
                if total >= MAX_PACKAGE_S:
                    break
                if (package, path.name) in done:
                    kept = out / "instrumental" / f"{package}__{path.stem}.flac"
                    if kept.exists():
                        total += float(sf.info(str(kept)).duration)
                    continue
                try:
                    audio = decode(path, max_duration_s=3600)
                except AudioError as exc:
                    decide([package, version, path.name, "", "", f"skipped: {exc.code}"])
                    continue
                seconds = audio.shape[1] / SAMPLE_RATE
                if seconds < MIN_TRACK_S:
                    continue
                audio = audio[:, : int(MAX_TRACK_S * SAMPLE_RATE)]
                share = voice_share(audio, model)
                name = f"{package}__{path.stem}.flac"
                if share > MAX_VOICE_SHARE:
                    decide([package, version, path.name, f"{seconds:.1f}", f"{share:.2f}", "left out: voice"])
                    continue
                encode(audio, out / "instrumental" / name, "flac")
                total += audio.shape[1] / SAMPLE_RATE
                decide(
                    [
                        package,
                        version,
                        path.name,
                        f"{seconds:.1f}",
                        f"{share:.2f}",
                        f"kept as instrumental/{name}",
                    ]
                )
                print(f"{package}: {path.name} {seconds:.0f}s voice {share:.2f} kept", flush=True)
    manifest.close()
    kept = sum(1 for r in rows if r[-1].startswith("kept"))
    print(
        f"{kept} new tracks kept, {len(rows) - kept} left out; manifest {manifest_path}; "
        f"licences: {out / 'licences'} (Debian copyright files)"
    )


if __name__ == "__main__":
    main()
