"""Key and tempo (issue 23): accuracy on pieces with known answers, agreement on real songs, speed.

    python bench/key_tempo.py [--set ../data-cache/key-tempo] [--data ../shared/data] [--no-record]

* **Rendered set** (``--set``, built by ``scripts/build_synthetic_data.py --key-tempo 96``): Bach
  chorales rendered by fluidsynth across all 24 keys and 60–180 BPM, half with GM drums; the truth
  is each score's declared key plus the transposition applied, and the tempo it was rendered at
  (``LABELS.tsv``). Tempo accuracy within 4 % (octave errors — ×2, ×½, ×3, ×⅓ — counted apart),
  key exact and MIREX weighted (fifth 0.5, relative 0.3, parallel 0.2), for each key profile of
  ``engine.analysis.PROFILES``, and what the confidence thresholds keep.
* **Real songs** (``--data``: ``train/pairs/multitrack``, ``train/pairs/everything-is-free``,
  ``valid/``; read for analysis, never copied): the mixture (vocals + accompaniment), the whole
  instrumental separated by the shipped model (what the full job analyses) and the true
  accompaniment; and the three sources the preview could analyse — the separated scan of the
  song's start (``PREVIEW_SCAN_S``), the mixture, the preview's 30-second instrumental — each
  against the full job's answer.
* **Speed**: a 4-minute piece (rendered pieces end to end) with a warm analysis, median of 3.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._record import record
from engine import analysis as an
from engine.analysis import Key, mirex_score

TEMPO_TOLERANCE = 0.04
OCTAVE_FACTORS = (2.0, 0.5, 3.0, 1.0 / 3.0)
CONFIDENCE_STEPS = (0.0, 0.02, 0.05, 0.1, 0.15)
SONG_FOLDERS = ("train/pairs/multitrack", "train/pairs/everything-is-free", "valid")
SPEED_SECONDS = 240.0
SPEED_RUNS = 3
PREVIEW_LENGTH_S = 30.0


@dataclass
class Piece:
    path: Path
    key: Key
    bpm: float
    drums: bool


def load_set(folder: Path) -> list[Piece]:
    with (folder / "LABELS.tsv").open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [
        Piece(folder / r["file"], Key(int(r["tonic"]), r["mode"]), float(r["bpm"]), r["drums"] == "1")
        for r in rows
    ]


def tempo_class(estimate: float, truth: float) -> str:
    """ "ok" within 4 %, "octave" within 4 % of a metrical multiple, else "wrong"."""
    if abs(estimate / truth - 1) <= TEMPO_TOLERANCE:
        return "ok"
    if any(abs(estimate / (truth * f) - 1) <= TEMPO_TOLERANCE for f in OCTAVE_FACTORS):
        return "octave"
    return "wrong"


def read(path: Path) -> tuple[np.ndarray, int]:
    audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return audio.T, sr


def pct(values: list[float]) -> str:
    return f"{100 * float(np.mean(values)):.1f} %" if values else "–"


def rendered_section(pieces: list[Piece]) -> tuple[str, dict[str, object]]:
    rows = []
    for piece in pieces:
        audio, sr = read(piece.path)
        y = an._resample(an._mono(audio), sr, an.ANALYSIS_SR)
        bpm, tempo_conf, _beats = an.tempo_and_beats(y)
        profile = an.pitch_profile(y)
        keys = {name: an.key_from_profile(profile, name) for name in an.PROFILES}
        rows.append((piece, bpm, tempo_conf, keys))
    lines = [
        "| subset | pieces | tempo within 4 % | octave errors | other tempo errors |"
        + "".join(f" key exact ({n}) | weighted ({n}) |" for n in an.PROFILES),
        "|---|---:|---:|---:|---:|" + "---:|---:|" * len(an.PROFILES),
    ]
    subsets = {
        "all": rows,
        "with drums": [r for r in rows if r[0].drums],
        "without drums": [r for r in rows if not r[0].drums],
        "major": [r for r in rows if r[0].key.mode == an.MAJOR],
        "minor": [r for r in rows if r[0].key.mode == an.MINOR],
        "60–100 BPM": [r for r in rows if r[0].bpm < 100],
        "100–140 BPM": [r for r in rows if 100 <= r[0].bpm < 140],
        "140–180 BPM": [r for r in rows if r[0].bpm >= 140],
    }
    figures: dict[str, object] = {}
    for name, subset in subsets.items():
        classes = [tempo_class(r[1], r[0].bpm) for r in subset]
        cells = [
            name,
            str(len(subset)),
            pct([c == "ok" for c in classes]),
            str(classes.count("octave")),
            str(classes.count("wrong")),
        ]
        for profile in an.PROFILES:
            exact = [r[3][profile][0] == r[0].key for r in subset]
            weighted = [mirex_score(r[3][profile][0], r[0].key) for r in subset]
            cells += [pct(exact), pct(weighted)]
            if name == "all":
                figures[f"{profile}_exact"] = float(np.mean(exact))
                figures[f"{profile}_weighted"] = float(np.mean(weighted))
        if name == "all":
            figures["tempo"] = float(np.mean([c == "ok" for c in classes]))
        lines.append("| " + " | ".join(cells) + " |")
    best = max(an.PROFILES, key=lambda p: (figures[f"{p}_weighted"], figures[f"{p}_exact"]))
    figures["best_profile"] = best
    lines += [
        "",
        f"Confidence thresholds, key profile `{an.DEFAULT_PROFILE}` (the shipped one):",
        "",
        "| key confidence ≥ | pieces answered | exact among them | weighted among them |",
        "|---:|---:|---:|---:|",
    ]
    for step in CONFIDENCE_STEPS:
        kept = [r for r in rows if r[3][an.DEFAULT_PROFILE][1] >= step]
        lines.append(
            f"| {step:g} | {len(kept)} | "
            f"{pct([r[3][an.DEFAULT_PROFILE][0] == r[0].key for r in kept])} | "
            f"{pct([mirex_score(r[3][an.DEFAULT_PROFILE][0], r[0].key) for r in kept])} |"
        )
    lines += ["", "| tempo confidence ≥ | pieces answered | within 4 % among them |", "|---:|---:|---:|"]
    for step in (0.0, 0.1, 0.2, 0.3):
        kept = [r for r in rows if r[2] >= step]
        lines.append(
            f"| {step:g} | {len(kept)} | {pct([tempo_class(r[1], r[0].bpm) == 'ok' for r in kept])} |"
        )
    wrong = [f"{r[0].path.name}: {r[1]:.1f}" for r in rows if tempo_class(r[1], r[0].bpm) != "ok"]
    lines += ["", f"Tempo misses: {'; '.join(wrong) or 'none'}."]
    return "\n".join(lines), figures


def speed_section(pieces: list[Piece]) -> str:
    began = time.perf_counter()
    an.warm_up()
    warm_s = time.perf_counter() - began
    parts, total = [], 0
    for piece in pieces:
        audio, sr = read(piece.path)
        parts.append(audio)
        total += audio.shape[1]
        if total >= SPEED_SECONDS * sr:
            break
    song = np.concatenate(parts, axis=1)[:, : int(SPEED_SECONDS * sr)]
    times = []
    for _ in range(SPEED_RUNS):
        began = time.perf_counter()
        an.analyse(song, sr)
        times.append(time.perf_counter() - began)
    return (
        f"Speed: a {song.shape[1] / sr / 60:.1f}-minute stereo 44.1 kHz piece, warm, "
        f"**{statistics.median(times):.2f} s** median of {SPEED_RUNS} "
        f"({', '.join(f'{t:.2f}' for t in times)}); the warm-up (`engine.analysis.warm_up`, "
        f"imports and numba's first compile, paid once at worker start) took {warm_s:.1f} s."
    )


def songs_section(data: Path) -> str:
    from engine.activity import first_vocal_entry
    from engine.predict import load_model, separate
    from jobs.timeouts import PREVIEW_SCAN_S

    model = load_model()
    songs = sorted(p for folder in SONG_FOLDERS for p in (data / folder).iterdir() if p.is_dir())
    lines = [
        "| song | minutes | mixture | separated instrumental (full job) | true accompaniment | "
        "scan (separated, first 90 s) | preview instrumental (30 s) |",
        "|---|---:|---|---|---|---|---|",
    ]
    agree: dict[str, list[tuple[float, bool]]] = {
        "mixture": [],
        "scan": [],
        "preview": [],
        "mixture vs true": [],
        "full vs true": [],
    }
    for song in songs:
        acc, sr = read(song / "accompaniment.ogg")
        voc, _ = read(song / "vocals.ogg")
        n = min(acc.shape[1], voc.shape[1])
        acc, voc = acc[:, :n], voc[:, :n]
        mixture = acc + voc
        stems = separate(mixture, model)
        scan_end = min(n, int(PREVIEW_SCAN_S * sr))
        scanned = separate(mixture[:, :scan_end], model)
        start = max(0.0, min(first_vocal_entry(scanned.vocals), n / sr - PREVIEW_LENGTH_S))
        a, b = int(start * sr), int((start + PREVIEW_LENGTH_S) * sr)
        preview = stems.instrumental[:, a:b]  # the preview window of the whole song's stems
        answers = {
            "mixture": an.analyse(mixture, sr),
            "full": an.analyse(stems.instrumental, sr),
            "true": an.analyse(acc, sr),
            "scan": an.analyse(scanned.instrumental, sr),
            "preview": an.analyse(preview, sr),
        }
        full = answers["full"]

        def cell(x: an.Analysis, ref: an.Analysis = full) -> str:
            same_key = "=" if x.key == ref.key else "≠"
            same_bpm = "=" if tempo_class(x.bpm, ref.bpm) == "ok" else "≠"
            return (
                f"{x.bpm:.1f} BPM {same_bpm}, {an.PITCH_CLASSES[x.key.tonic]} {x.key.mode} "
                f"{x.camelot} {same_key} (conf {x.key_confidence:.2f})"
            )

        for name in ("mixture", "scan", "preview"):
            x = answers[name]
            agree[name].append((mirex_score(x.key, full.key), tempo_class(x.bpm, full.bpm) == "ok"))
        true = answers["true"]
        agree["mixture vs true"].append(
            (
                mirex_score(answers["mixture"].key, true.key),
                tempo_class(answers["mixture"].bpm, true.bpm) == "ok",
            )
        )
        agree["full vs true"].append(
            (mirex_score(full.key, true.key), tempo_class(full.bpm, true.bpm) == "ok")
        )
        lines.append(
            f"| {song.name} | {n / sr / 60:.1f} | {cell(answers['mixture'])} | "
            f"{full.bpm:.1f} BPM, {an.PITCH_CLASSES[full.key.tonic]} {full.key.mode} {full.camelot} "
            f"(conf {full.key_confidence:.2f}) | {cell(true)} | {cell(answers['scan'])} | "
            f"{cell(answers['preview'])} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        "`=`/`≠`: the same answer as the full job's (tempo within 4 %, key exact).",
        "",
        "| compared | songs | same key | weighted key | same tempo |",
        "|---|---:|---:|---:|---:|",
    ]
    labels = {
        "mixture": "mixture vs full job",
        "scan": "scan vs full job",
        "preview": "preview instrumental vs full job",
        "mixture vs true": "mixture vs true accompaniment",
        "full vs true": "full job vs true accompaniment",
    }
    for name, values in agree.items():
        lines.append(
            f"| {labels[name]} | {len(values)} | {pct([v[0] == 1.0 for v in values])} | "
            f"{pct([v[0] for v in values])} | {pct([float(v[1]) for v in values])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=Path("../data-cache/key-tempo"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--no-songs", action="store_true", help="skip the real songs")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    pieces = load_set(args.set)
    drums = sum(p.drums for p in pieces)
    keys = len({p.key for p in pieces})
    rendered, figures = rendered_section(pieces)
    body = [
        f"`bench/key_tempo.py`: `engine.analysis` (librosa {__import__('librosa').__version__}) on "
        f"{len(pieces)} pieces rendered by `scripts/build_synthetic_data.py --key-tempo` "
        f"({keys} keys, {min(p.bpm for p in pieces):.0f}–{max(p.bpm for p in pieces):.0f} BPM, "
        f"{drums} with drums); truth = the score's declared key + the transposition, and the "
        "rendered tempo.",
        "",
        rendered,
        "",
        f"Best profile by weighted score: `{figures['best_profile']}`.",
        "",
        speed_section(pieces),
    ]
    if not args.no_songs:
        body += [
            "",
            "Real songs (mixture = vocals + accompaniment; separated by the shipped model):",
            "",
            songs_section(args.data),
        ]
    record("Key and tempo (issue 23)", "\n".join(body), dry_run=args.no_record)


if __name__ == "__main__":
    main()
