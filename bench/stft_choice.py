"""Evidence for the STFT size and the modelled frequency range: the oracle ideal ratio mask.

    python bench/stft_choice.py ../shared/data/eval [--no-record]

A magnitude-mask model can at best reach the oracle IRM of its STFT, so the oracle's SDR, computed
for each candidate window/hop and for a mask that is only known on the lowest ``bins`` bins and
extended above them the way ``engine.transforms.extend_mask`` does, says what each choice costs
before any training. Cost is the number of spectrogram cells per second of audio the U-Net sees.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._cli import eval_folder_main
from engine.constants import SAMPLE_RATE
from engine.evaluate import Track, evaluate_estimator, oracle_irm
from engine.transforms import STFTConfig

CANDIDATES = [
    STFTConfig(n_fft=2048, hop=512, bins=1024),
    STFTConfig(n_fft=2048, hop=512, bins=512),
    STFTConfig(n_fft=4096, hop=1024, bins=2048),
    STFTConfig(n_fft=4096, hop=1024, bins=1024),
    STFTConfig(n_fft=4096, hop=1024, bins=512),
    STFTConfig(n_fft=8192, hop=2048, bins=2048),
]


def _body(tracks: list[Track], args: argparse.Namespace) -> str:
    lines = [
        "| n_fft / hop | modelled bins | top modelled Hz | cells per s | oracle vocals SDR "
        "| oracle instrumental SDR |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for cfg in CANDIDATES:
        row = evaluate_estimator(str(cfg), tracks, lambda t, c=cfg: oracle_irm(t, c, model_band=True))
        top_hz = cfg.bins * SAMPLE_RATE / cfg.n_fft
        cells = cfg.bins * SAMPLE_RATE / cfg.hop
        lines.append(
            f"| {cfg.n_fft} / {cfg.hop} | {cfg.bins} | {top_hz:.0f} | {cells:.0f} | "
            f"{row.vocals_sdr:.2f} | {row.accompaniment_sdr:.2f} |"
        )
    body = (
        f"Oracle IRM (mixture phase) on `{args.folder}` ({len(tracks)} tracks), museval v4; above "
        "the modelled bins the mask is extended from the top band as in the engine.\n\n" + "\n".join(lines)
    )
    return body


def main() -> None:
    eval_folder_main("STFT choice: oracle ceiling per window and band", _body, models="none")


if __name__ == "__main__":
    main()
