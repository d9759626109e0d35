"""Training experiments side by side: what each run was, how long it took, validation loss and SDR.

    python bench/runs.py ../shared/data/eval runs/a runs/b ... [--label a=what changed] [--no-record]

For each run folder the script reads ``best.pt`` (the checkpoint chosen on the validation split)
and reports its data roots, starting point, learning rate, steps, training minutes, the validation
loss and vocals SDR at the chosen step (raw, and calibrated at the best mask power), and the SDR
of its averaged weights on the evaluation folder, with raw masks (vocal-mask power 1: calibration
is a separate step, measured by ``bench/postprocess.py``). Runs meant to be compared should share
the validation split (it comes from the shared data only, so adding a new data root leaves it
unchanged), the seed and the number of steps; the table says so when they don't.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._record import record
from engine import checkpoint
from engine.evaluate import evaluate_estimator, load_tracks, model_estimator
from engine.predict import load_model


def _roots(best: dict) -> str:
    """The run's data roots by folder name, from the data manifest the checkpoint carries."""
    return " + ".join(Path(m["root"]).name for m in best["manifest"]["train"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", help="evaluation folder")
    parser.add_argument("runs", nargs="+", help="run folders holding best.pt")
    parser.add_argument(
        "--label", action="append", default=[], help="RUN=text: what the run changed, shown in the table"
    )
    parser.add_argument("--title", default="Training experiments")
    parser.add_argument("--note", default="", help="a paragraph printed under the table")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    labels = dict(item.split("=", 1) for item in args.label)
    tracks = load_tracks(Path(args.folder))
    lines = [
        "| run | change | data | init | lr | steps | train min | val loss "
        "| val remix vocals SDR (calibrated at power) | val score "
        "| vocals SDR | instrumental SDR |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    per_track = []
    for run in args.runs:
        best = checkpoint.load(Path(run) / "best.pt")
        config = best.get("train_config", {})
        model = load_model(Path(run) / "best.pt")
        row = evaluate_estimator(run, tracks, model_estimator(model))
        init = config.get("init", "None")
        chosen = {h["step"]: h for h in best["history"]}.get(best["step"], {})
        val_sdr = f"{chosen['val_sdr']:.2f}" if "val_sdr" in chosen else "—"
        if "val_remix_vocals" in chosen:
            val_sdr += f" ({chosen['val_remix_vocals']:.2f} at {chosen['val_power']})"
        val_score = f"{chosen['val_overall']:.2f}" if "val_overall" in chosen else "—"
        val_loss = f"{chosen['val']:.4f}" if "val" in chosen else "—"
        lines.append(
            f"| {Path(run).name} | {labels.get(run, labels.get(Path(run).name, ''))} "
            f"| {_roots(best)} | {Path(init).name if init != 'None' else 'random'} "
            f"| {config.get('lr', '?')} | {best['step']} | {best['train_seconds'] / 60:.0f} "
            f"| {val_loss} | {val_sdr} | {val_score} | {row.vocals_sdr:.2f} "
            f"| {row.accompaniment_sdr:.2f} |"
        )
        per_track.append(
            f"- {Path(run).name}: "
            + ", ".join(f"{name} {v:.2f}/{a:.2f}" for name, (v, a) in row.per_track.items())
        )
    body = (
        f"Evaluation folder `{args.folder}` ({len(tracks)} tracks), museval v4 median SDR in dB of "
        "each run's `best.pt` (averaged weights, chosen on validation: the overall score — remix "
        "vocals, held-out song vocals and instrumental — since Model quality V, remix vocals SDR "
        "since the loss lever of issue 15, the loss before).\n\n"
        + "\n".join(lines)
        + "\n\nPer track (vocals/instrumental):\n"
        + "\n".join(per_track)
        + (f"\n\n{args.note}" if args.note else "")
    )
    record(args.title, body, dry_run=args.no_record)


if __name__ == "__main__":
    main()
