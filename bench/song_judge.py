"""The judge on real songs: each model's valid/ table by vocal-mask power, and whether the fast SDR
ranks models and powers as museval does.

    python bench/song_judge.py ../shared/data/valid --model models/vocals-unet.pt \
        [--model runs/x/snapshots/step-000900.pt ...] [--museval-powers 0.3,0.35,0.5,0.8,1.0] \
        [--no-record]

For every model it scores the songs at every power of ``engine.songs.SONG_POWERS`` with the fast
SDR (``engine.songs.frame_sdr``), and at ``--museval-powers`` with museval (BSSEval v4, what the
evaluation tables report). Then, over every (model, power) scored both ways, it gives Spearman's
rank correlation of the two overall scores (and of the vocals and instrumental medians): the fast
SDR may choose checkpoints and powers only where this is at least 0.9 over five or more points
(issue 27). Each model's best power by each metric closes the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._record import record
from engine import songs as judge
from engine.predict import load_model

MIN_POINTS = 5
MIN_RANK_CORRELATION = 0.9


def _powers(text: str) -> tuple[float, ...]:
    return tuple(float(p) for p in text.split(",") if p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="validation songs: <song>/vocals, accompaniment[, mixture]")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        help="model file or run snapshot; repeat to compare (default: shipped)",
    )
    parser.add_argument("--museval-powers", type=_powers, default=(0.3, 0.35, 0.5, 0.8, 1.0))
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    songs = judge.load_songs(Path(args.folder))
    models = args.model or [None]

    sections, pairs = [], []
    for path in models:
        model = load_model(path, device="cpu", vocal_mask_power=1.0)
        name = f"{path or 'shipped'} ({model.version})"
        fast = judge.score_by_power(model, songs, judge.SONG_POWERS, "fast")
        slow = judge.score_by_power(model, songs, args.museval_powers, "museval")
        for p in slow:
            f = fast[p] if p in fast else judge.score_by_power(model, songs, (p,), "fast")[p]
            pairs.append((f, slow[p]))
        section = (
            f"**{name}** — fast SDR, every power (vocals / instrumental per song):\n\n"
            f"{judge.table(fast)}\n\nbest power: fast {judge.best_power(fast)} "
            f"({fast[judge.best_power(fast)].describe()})"
        )
        if slow:  # --museval-powers "" scores the fast SDR only
            section += (
                f", museval {judge.best_power(slow)} ({slow[judge.best_power(slow)].describe()})"
                f"\n\nmuseval at {', '.join(map(str, args.museval_powers))}:\n\n"
                f"{judge.table(slow)}"
            )
        sections.append(section)

    lines = [
        f"Songs: {', '.join(t.name for t in songs)}; {len(pairs)} (model, power) points scored both ways.",
        "",
    ]
    if len(pairs) >= 2:
        rows = ["| score | Spearman ρ (fast vs museval) | mean |fast − museval| dB |", "|---|---:|---:|"]
        for part in ("overall", "vocals", "instrumental"):
            f = np.array([getattr(a, part) for a, _ in pairs])
            m = np.array([getattr(b, part) for _, b in pairs])
            rho = spearmanr(f, m).statistic
            rows.append(f"| {part} | {rho:.3f} | {np.abs(f - m).mean():.3f} |")
        lines += rows
        verdict = (
            "enough points" if len(pairs) >= MIN_POINTS else f"fewer than {MIN_POINTS} points: no verdict"
        )
        lines += [
            "",
            f"Rule: the fast SDR may judge where ρ ≥ {MIN_RANK_CORRELATION} over "
            f"≥ {MIN_POINTS} points ({verdict}).",
        ]
    body = "\n".join(lines) + "\n\n" + "\n\n".join(sections)
    record("Song judge: valid/ by vocal-mask power, fast SDR vs museval", body, dry_run=args.no_record)


if __name__ == "__main__":
    main()
