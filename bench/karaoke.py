"""Speed and memory of karaoke rendering (guide vocal, key shift, tempo) on this machine.

    python bench/karaoke.py [--minutes 4] [--long-minutes 20] [--no-record]

Stems are generated (a chord progression with noise hits, a vibrato "voice"; stereo, 44.1 kHz),
so no data set is needed. Two kinds of case, each in a fresh process so its peak resident memory
(ru_maxrss) is its own:

* ``engine``: :func:`engine.karaoke.render` on stems already in memory (what the settings cost);
* ``jobs``: :func:`jobs.karaoke_variants.render_karaoke` from mp3 stems in local storage to a stored mp3
  (fetch + 2 decodes + render + encode + store: what a worker spends on a request), for a
  30-second preview clip, the song, and once for a long song.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._record import record
from engine.constants import SAMPLE_RATE

BLOCK = 1 << 20
ENGINE_FORMS = ("g12.k0.t100", "goff.k2.t100", "g12.k2.t100", "g12.k0.t80", "g6.k-3.t120")
JOBS_FORM = "g12.k2.t90"
PREVIEW_S = 30.0


def stems(seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """(instrumental, vocals), each float32 (2, samples), made a block at a time."""
    n = int(seconds * SAMPLE_RATE)
    instrumental = np.empty((2, n), dtype=np.float32)
    vocals = np.empty((2, n), dtype=np.float32)
    rng = np.random.default_rng(0)
    chords = [(110.0, 138.6, 164.8), (98.0, 123.5, 146.8), (130.8, 164.8, 196.0)]
    for i in range(0, n, BLOCK):
        t = np.arange(i, min(n, i + BLOCK)) / SAMPLE_RATE
        chord = np.asarray(chords)[(t // 2).astype(int) % len(chords)]
        band = sum(np.sin(2 * np.pi * k * chord[:, j] * t) / k for j in range(3) for k in (1, 2, 3))
        hits = (rng.random(t.size) - 0.5) * (np.sin(2 * np.pi * 2 * t) > 0.97)
        f0 = 220 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
        voice = sum(np.sin(k * 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE) / k for k in range(1, 6))
        instrumental[0, i : i + t.size] = 0.08 * band + 0.3 * hits
        instrumental[1, i : i + t.size] = 0.07 * band + 0.3 * hits
        vocals[0, i : i + t.size] = 0.2 * voice
        vocals[1, i : i + t.size] = 0.25 * voice
    return instrumental, vocals


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_engine(seconds: float, form: str) -> dict[str, float]:
    from engine.karaoke import KaraokeSettings, render

    instrumental, vocals = stems(seconds)
    start = time.perf_counter()
    out = render(instrumental, vocals, SAMPLE_RATE, KaraokeSettings.parse(form))
    took = time.perf_counter() - start
    return {"seconds": took, "out_s": out.shape[1] / SAMPLE_RATE, "rss": peak_rss_mb()}


def prepare_storage(root: Path, seconds: float) -> dict[str, str]:
    """Stems encoded to mp3 and stored the way the worker stores them; the record's outputs."""
    from engine.audio import encode
    from jobs.storage import LocalStorage

    storage = LocalStorage(root)
    outputs = {}
    for name, audio in zip(("instrumental", "vocals"), stems(seconds), strict=True):
        path = encode(audio, root.parent / f"{name}.mp3", "mp3")
        outputs[name] = f"results/bench/{name}.mp3"
        storage.put_file(outputs[name], path)
    return outputs


def run_jobs(root: Path, outputs: dict[str, str]) -> dict[str, float]:
    from engine.karaoke import KaraokeSettings
    from jobs.karaoke_variants import render_karaoke
    from jobs.storage import LocalStorage

    start = time.perf_counter()
    render_karaoke(LocalStorage(root), "bench", outputs, KaraokeSettings.parse(JOBS_FORM))
    return {"seconds": time.perf_counter() - start, "rss": peak_rss_mb()}


def child(args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{args} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--long-minutes", type=float, default=20.0, help="0: skip the long song")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, seconds, rest = args.child[0], float(args.child[1]), args.child[2:]
        result = (
            run_engine(seconds, rest[0]) if kind == "engine" else run_jobs(Path(rest[0]), json.loads(rest[1]))
        )
        print(json.dumps(result))
        return
    seconds = args.minutes * 60
    rows = []
    for form in ENGINE_FORMS:
        r = child(["engine", str(seconds), form])
        rows.append(
            f"| engine render | {args.minutes:g} min | `{form}` | {r['seconds']:.1f} | "
            f"**{seconds / r['seconds']:.1f}×** | {r['rss']:.0f} |"
        )
        print(rows[-1], flush=True)
    lengths = [("preview clip", PREVIEW_S), ("song", seconds)]
    if args.long_minutes:
        lengths.append(("long song", args.long_minutes * 60))
    for label, length in lengths:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "storage"
            outputs = prepare_storage(root, length)
            r = child(["jobs", str(length), str(root), json.dumps(outputs)])
        rows.append(
            f"| jobs, mp3 → mp3 ({label}) | {length / 60:g} min | `{JOBS_FORM}` | "
            f"{r['seconds']:.1f} | **{length / r['seconds']:.1f}×** | {r['rss']:.0f} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(
        [
            "| what | audio | settings | seconds | × real time | peak RSS MB |",
            "|---|---|---|---:|---:|---:|",
            *rows,
        ]
    )
    body = (
        "`bench/karaoke.py`: karaoke variants (guide vocal + one Rubber Band pass through "
        "pedalboard.time_stretch, high quality) from generated stereo 44.1 kHz stems, one process "
        "per row. `engine render`: `engine.karaoke.render` on stems in memory (peak RSS includes "
        "the two input stems); `jobs`: `jobs.karaoke_variants.render_karaoke` from stored mp3 stems "
        "(fetch, decode both, render, encode mp3 320k, store). × real time is audio seconds "
        "per wall second of the input.\n\n" + table
    )
    record("Karaoke: guide vocal, key shift, tempo", body, dry_run=args.no_record)


if __name__ == "__main__":
    main()
