"""How much of the voice's 8-16 kHz band (sibilants, breaths) does the instrumental still carry?

    python bench/highband.py ../shared/data/eval --model A.pt [--model B.pt ...] [--no-record]

MIR-1K, most of our vocal data, is 16 kHz audio: it has nothing above 8 kHz. A model that learnt
"nothing above 8 kHz is voice" leaves every "s" in the karaoke track. For each eval track this
measures, in the 8-16 kHz band, the energy of the instrumental's error (estimate − true
accompaniment) against the energy of the true vocals there: 0 dB means the voice's high band was
left entirely in the instrumental, lower is better. The oracle IRM gives the floor.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._cli import eval_folder_main
from engine.constants import SAMPLE_RATE
from engine.evaluate import Track, oracle_irm
from engine.predict import Stems, load_model, separate

BAND_HZ = (8000.0, 16000.0)


def band_energy(audio: np.ndarray) -> float:
    spectrum = np.fft.rfft(audio, axis=-1)
    freqs = np.fft.rfftfreq(audio.shape[-1], 1 / SAMPLE_RATE)
    sel = (freqs >= BAND_HZ[0]) & (freqs < BAND_HZ[1])
    return float(np.sum(np.abs(spectrum[..., sel]) ** 2))


def leak_db(track: Track, stems: Stems) -> float:
    error = stems.instrumental - track.accompaniment
    return 10 * np.log10(band_energy(error) / band_energy(track.vocals))


def _body(tracks: list[Track], args: argparse.Namespace) -> str:
    estimators = {"oracle IRM": oracle_irm}
    for path in args.model or [None]:
        model = load_model(path)
        estimators[f"{model.version}"] = lambda t, m=model: separate(t.mixture, m)
    estimators["mixture (do nothing)"] = lambda t: Stems(t.mixture * 0, t.mixture)
    lines = ["| method | " + " | ".join(t.name for t in tracks) + " |", "|---|" + "---:|" * len(tracks)]
    for name, estimate in estimators.items():
        values = [leak_db(t, estimate(t)) for t in tracks]
        lines.append(f"| {name} | " + " | ".join(f"{v:.1f} dB" for v in values) + " |")
    body = (
        "Instrumental error energy in 8-16 kHz relative to the true vocals' energy there "
        "(lower is better; 0 dB = the vocals' high band left in the instrumental).\n\n" + "\n".join(lines)
    )
    return body


def main() -> None:
    eval_folder_main("High band: vocal sibilants left in the instrumental", _body, models="many")


if __name__ == "__main__":
    main()
