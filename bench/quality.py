"""Separation quality on an evaluation folder: our model beside the mixture, REPET-SIM and the oracle.

    python bench/quality.py ../shared/data/eval [--model models/vocals-unet.pt] [--no-record]

REPET-SIM is librosa's nearest-neighbour-filter vocal separation (the "vocal separation" example of
the librosa gallery): a classical method with no training, the bar a learned model must clear.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import librosa
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._cli import eval_folder_main
from engine.constants import SAMPLE_RATE
from engine.evaluate import (
    Track,
    evaluate_estimator,
    format_table,
    mixture_estimate,
    model_estimator,
    oracle_irm,
)
from engine.predict import Stems, load_model


def repet_sim(track: Track) -> Stems:
    vocals, instrumental = [], []
    for channel in track.mixture:
        spec = librosa.stft(channel, n_fft=2048, hop_length=512)
        full, phase = librosa.magphase(spec)
        width = int(librosa.time_to_frames(2, sr=SAMPLE_RATE, hop_length=512))
        rep = librosa.decompose.nn_filter(full, aggregate=np.median, metric="cosine", width=width)
        rep = np.minimum(full, rep)
        mask_i = librosa.util.softmask(rep, 2 * (full - rep), power=2)
        mask_v = librosa.util.softmask(full - rep, 10 * rep, power=2)
        n = channel.shape[0]
        vocals.append(librosa.istft(mask_v * full * phase, hop_length=512, length=n))
        instrumental.append(librosa.istft(mask_i * full * phase, hop_length=512, length=n))
    return Stems(np.stack(vocals).astype(np.float32), np.stack(instrumental).astype(np.float32))


def _body(tracks: list[Track], args: argparse.Namespace) -> str:
    rows = []
    for mode in ("residual", "mask"):
        model = load_model(args.model, instrumental=mode)
        rows.append(evaluate_estimator(f"ours {model.version} ({mode})", tracks, model_estimator(model)))
    rows.append(evaluate_estimator("REPET-SIM (librosa nn_filter)", tracks, repet_sim))
    rows.append(evaluate_estimator("mixture (do nothing)", tracks, mixture_estimate))
    rows.append(evaluate_estimator("oracle IRM (4096/1024)", tracks, lambda t: oracle_irm(t, model.stft_cfg)))
    table = format_table(rows)
    per_track = "\n".join(
        f"- {row.name}: " + ", ".join(f"{k} {v[0]:.2f}/{v[1]:.2f}" for k, v in row.per_track.items())
        for row in rows
    )
    body = (
        f"Evaluation folder `{args.folder}` ({len(tracks)} tracks), museval BSSEval v4, "
        f"SDR in dB, median over 1 s frames then over tracks.\n\n{table}\n\n"
        f"Per track (vocals/instrumental):\n{per_track}"
    )
    return body


def main() -> None:
    eval_folder_main("Quality: SDR on the evaluation clips", _body, models="one")


if __name__ == "__main__":
    main()
