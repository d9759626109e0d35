"""What ``scripts/gpu_train.sh`` brings back through ``$OUT``: the model in parts, figures, speed.

    python scripts/gpu_report.py partial --run RUN --out OUT [--settings JSON]
    python scripts/gpu_report.py final --run RUN --model MODEL --pack PACK --out OUT [--settings JSON]

Why parts: ``$OUT`` returns at most 8 files of ≤ 16 MiB each (/work/.library/device/README.md),
and a width-16 model in float16 is about 19.7 MB (the default width 11: 9.3 MB, one part). The
model goes back as ``model.pt.part0``, ``model.pt.part1``, … of ≤ ``PART_BYTES`` each;
``figures.json`` holds the whole file's sha256. Reassemble with ``cat model.pt.part* > model.pt``
(the names sort in order: fewer than ten parts) and check ``sha256sum model.pt`` against
``figures.json``'s ``model.sha256``.

Invariants: every file in ``$OUT`` is written under a temporary name and renamed, so a run killed
at its time limit leaves whole files (at worst an extra ``*.tmp``); ``partial`` exports the best
checkpoint so far (uncalibrated: vocal-mask power 1.0), ``final`` replaces it with the calibrated
export; parts from an earlier, larger model are removed, so the parts present are one model.
At most five files are written: the parts (2 for a width-16 model), ``figures.json`` and the
shell script's ``train.log``.

The run's judge is its validation songs (``train --songs``, :mod:`engine.songs`): ``figures.json``
names it (``judge``), gives the step ``best.pt`` holds (``best_step``, chosen on the songs' overall
score) with its song scores (``best_songs``) and every validation's song scores
(``songs_history``); the remix scores stay beside them as the early signal they are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import checkpoint
from engine.constants import SAMPLE_RATE
from engine.data import load_file

PART_BYTES = 15 * 1024 * 1024
PART_PREFIX = "model.pt.part"
SPEED_MINUTES = (4.0, 20.0)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_parts(model: Path, out: Path) -> dict[str, Any]:
    """Split ``model`` into ``out/model.pt.partN`` files; remove stale higher-numbered parts."""
    data = model.read_bytes()
    count = max(1, -(-len(data) // PART_BYTES))
    for i in range(count):
        _write_atomic(out / f"{PART_PREFIX}{i}", data[i * PART_BYTES : (i + 1) * PART_BYTES])
    for stale in out.glob(f"{PART_PREFIX}*"):
        suffix = stale.name.removeprefix(PART_PREFIX)
        if suffix.isdigit() and int(suffix) >= count:
            stale.unlink()
    return {
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "parts": count,
        "reassemble": f"cat {PART_PREFIX}* > model.pt",
    }


SONG_FIELDS = ("songs_vocals", "songs_instrumental", "songs_overall", "songs_power")


def run_figures(run: Path) -> dict[str, Any]:
    """Steps, time and validation history from the run's last checkpoint."""
    ckpt = checkpoint.load(run / "last.pt")
    history = ckpt.get("history", [])
    batch = int((ckpt.get("train_config") or {}).get("batch", 0))
    # best.pt is chosen on the songs' overall score where the run has songs (engine.train's
    # Validation.score), else on the calibrated overall score of the remixes; the first best wins.
    judged = [h for h in history if h.get("songs_overall") is not None]
    key = "songs_overall" if judged else "val_overall"
    best = max(judged or history, key=lambda h: h[key]) if history else None
    return {
        "unet": ckpt["unet"],
        "steps": ckpt["step"],
        "train_minutes": round(ckpt["train_seconds"] / 60, 2),
        # What the remix workers sustained, if the GPU waited on them (see train.log's GPU load).
        "examples_per_second": round(ckpt["step"] * batch / max(ckpt["train_seconds"], 1e-9), 1),
        "best_val_loss": None if not history else round(min(h["val"] for h in history), 5),
        # the calibrated overall score of the validation remixes (engine.train.validate)
        "best_val_score": None if not history else max(h["val_overall"] for h in history),
        "judge": "songs" if judged else "remixes",  # what best.pt was chosen on
        "best_step": None if best is None else best["step"],  # the step best.pt holds
        "best_songs": (
            None
            if not judged or best is None
            else {"step": best["step"], **{k: best[k] for k in SONG_FIELDS}}
        ),
        "songs_history": [{"step": h["step"], **{k: h[k] for k in SONG_FIELDS}} for h in judged],
        "history": history,
        "train_config": ckpt.get("train_config"),
    }


def write_figures(out: Path, figures: dict[str, Any]) -> None:
    _write_atomic(out / "figures.json", (json.dumps(figures, indent=2, default=str) + "\n").encode())


def make_song(pack: Path, minutes: float) -> np.ndarray:
    """A stereo song of ``minutes`` from the (unpacked) pack's instrumentals with a vocal on top,
    as ``bench/speed.py`` builds one from the shared data (which does not travel)."""
    instrumentals = sorted(p for p in pack.rglob("instrumental/**/*.*") if p.is_file())
    vocals = sorted(p for p in pack.rglob("vocals/**/*.*") if p.is_file())
    n = int(minutes * 60 * SAMPLE_RATE)
    pieces, total = [], 0
    while total < n:
        audio = load_file(instrumentals[len(pieces) % len(instrumentals)])
        audio = audio if audio.shape[0] == 2 else np.repeat(audio, 2, axis=0)
        pieces.append(audio)
        total += audio.shape[1]
    song = np.concatenate(pieces, axis=1)[:, :n]
    voice = load_file(vocals[0])[0]
    song += 0.5 * np.tile(voice, n // voice.size + 1)[:n]
    return (song / max(1.0, float(np.max(np.abs(song))))).astype(np.float32)


def speed(
    model_path: Path, pack: Path, device: str, minutes_list: tuple[float, ...] = SPEED_MINUTES
) -> dict[str, Any]:
    """Separation alone (model loaded, song in memory, stems back in memory) × real time, after
    one warm-up; the whole job path (decode, encode) is ``bench/speed.py``'s and needs ffmpeg."""
    from engine.predict import load_model, separate

    model = load_model(model_path, device=device)
    rows: dict[str, Any] = {"model": model.version, "device": str(model.device)}
    separate(make_song(pack, 0.5), model)  # warm-up: kernels, cuDNN algorithm choice
    for minutes in minutes_list:
        song = make_song(pack, minutes)
        if model.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        separate(song, model)
        seconds = time.perf_counter() - t0
        row = {"seconds": round(seconds, 2), "x_real_time": round(song.shape[1] / SAMPLE_RATE / seconds, 1)}
        if model.device.type == "cuda":
            row["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
        rows[f"{minutes:g}min"] = row
    return rows


def environment(device: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("partial", "final"))
    parser.add_argument("--run", type=Path, required=True, help="the training run folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", type=Path, help="final: the exported, calibrated model")
    parser.add_argument("--pack", type=Path, help="final: the unpacked pack (speed song)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--settings", default="{}", help="JSON of the run's settings, recorded")
    parser.add_argument("--shipped", type=Path, help="final: also time this model's speed")
    parser.add_argument("--speed-minutes", type=float, nargs="+", default=list(SPEED_MINUTES))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not (args.run / "last.pt").exists():
        print("no checkpoint yet", flush=True)
        return 0
    figures: dict[str, Any] = {
        "status": args.mode,
        "settings": json.loads(args.settings),
        "environment": environment(args.device),
        **run_figures(args.run),
    }
    if args.mode == "partial":
        exported = args.run / "partial-export.pt"
        best = args.run / "best.pt" if (args.run / "best.pt").exists() else args.run / "last.pt"
        figures["model"] = {
            "version": checkpoint.export(checkpoint.load(best), exported),
            "calibrated": False,
            **write_parts(exported, args.out),
        }
        write_figures(args.out, figures)
        print(
            f"partial: step {figures['steps']}, best val score {figures['best_val_score']}, "
            f"best songs {figures['best_songs']}",
            flush=True,
        )
        return 0
    if args.model is None or args.pack is None:
        parser.error("final needs --model and --pack")
    minutes = tuple(args.speed_minutes)
    payload = checkpoint.load(args.model)
    figures["model"] = {
        "version": payload["version"],
        "calibrated": payload.get("calibration") is not None,
        "calibration": payload.get("calibration"),
        "calibration_scores": payload.get("calibration_scores"),
        "calibration_judge": payload.get("calibration_judge"),
        **write_parts(args.model, args.out),
    }
    write_figures(args.out, figures)  # the model is safe before the speed runs
    figures["speed"] = {"trained": speed(args.model, args.pack, args.device, minutes)}
    write_figures(args.out, figures)
    if args.shipped and args.shipped.exists():
        figures["speed"]["shipped"] = speed(args.shipped, args.pack, args.device, minutes)
        write_figures(args.out, figures)
    summary = ("steps", "train_minutes", "judge", "best_songs", "best_val_score", "best_val_loss", "speed")
    print(json.dumps({k: figures[k] for k in summary}, indent=1), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
