"""Richer calibrations than one vocal-mask power, scored on the validation songs (the judge).

    python bench/calibrations.py ../shared/data/valid [--model models/vocals-unet.pt] [--no-record]

Every variant turns the network's two masks of a chunk into a vocal estimate; the chunks are
overlap-added exactly as ``engine.predict.separate`` does, the instrumental is the mixture less
the vocals (the product's residual), and each song is scored with the fast SDR of
``engine.songs`` (the judge's metric; ``bench/song_judge.py`` shows it ranks as museval does).
Variants, one network pass per chunk (two for the channel swap):
- ``power p``: the shipped calibration, ``m_v ** p``;
- ``bands a/b/c``: a power per band (below 300 Hz, 300 Hz – 4 kHz, above), around the best power;
- ``blend p``: the vocal mask averaged with one minus the instrumental's own mask, then ``** p``;
- ``wiener p`` (at the best power): norbert's multichannel Wiener filter (one EM iteration) on the magnitude
  estimates ``|X|·m_v**p`` and ``|X|·m_i``;
- ``swap p``: test-time averaging of the masks of the song and of its channel-swapped copy.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import norbert
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._record import record
from engine import songs as judge
from engine.constants import SAMPLE_RATE
from engine.predict import CHUNK_FRAMES, Separator, _overlap_add, load_model
from engine.transforms import extend_mask

BAND_EDGES_HZ = (300.0, 4000.0)
BAND_POWERS = (0.25, 0.35, 0.5, 0.7, 1.0)
Variant = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _band_power(model: Separator, powers: tuple[float, float, float]) -> torch.Tensor:
    """A power per modelled bin: ``powers`` over the three bands of ``BAND_EDGES_HZ``."""
    hz = torch.arange(model.stft_cfg.bins) * SAMPLE_RATE / model.stft_cfg.n_fft
    out = torch.full((model.stft_cfg.bins, 1), powers[2])
    out[hz < BAND_EDGES_HZ[1]] = powers[1]
    out[hz < BAND_EDGES_HZ[0]] = powers[0]
    return out


def variants(model: Separator, best: float) -> dict[str, Variant]:
    """name → f(spec, vocal mask, instrumental mask) over the modelled bins → full-band estimate."""
    cfg = model.stft_cfg

    def power(p: float) -> Variant:
        return lambda spec, mv, mi: spec * extend_mask(mv**p, cfg)

    def bands(powers: tuple[float, float, float]) -> Variant:
        exponent = _band_power(model, powers)
        return lambda spec, mv, mi: spec * extend_mask(mv**exponent, cfg)

    def blend(p: float) -> Variant:
        return lambda spec, mv, mi: spec * extend_mask(((mv + 1 - mi) / 2) ** p, cfg)

    def wiener(p: float) -> Variant:
        def run(spec: torch.Tensor, mv: torch.Tensor, mi: torch.Tensor) -> torch.Tensor:
            mag = spec.abs()
            v = torch.stack([mag * extend_mask(mv**p, cfg), mag * extend_mask(mi, cfg)], dim=-1)
            out = []
            for b in range(spec.shape[0]):  # norbert: (frames, bins, channels[, sources])
                x = spec[b].permute(2, 1, 0).numpy().astype(np.complex128)
                y = norbert.wiener(v[b].permute(2, 1, 0, 3).numpy().astype(np.float64), x, 1)
                out.append(torch.from_numpy(y[..., 0]).permute(2, 1, 0).to(spec.dtype))
            return torch.stack(out)

        return run

    found: dict[str, Variant] = {}
    for p in sorted({0.3, 0.35, 0.4, 0.5, best}):
        found[f"power {p}"] = power(p)
    for i in range(3):
        for q in BAND_POWERS:
            powers = [best, best, best]
            powers[i] = q
            found["bands " + "/".join(map(str, powers))] = bands(tuple(powers))  # type: ignore[arg-type]
    for p in (0.35, 0.5, 0.7, 1.0):
        found[f"blend {p}"] = blend(p)
    found[f"wiener {best}"] = wiener(best)
    return found


def score_variants(model: Separator, songs: list, best: float) -> dict[str, judge.PowerScores]:
    table = variants(model, best)
    swap = {f"swap {p}": p for p in sorted({0.35, best})}
    per: dict[str, dict[str, tuple[float, float]]] = {name: {} for name in [*table, *swap]}
    for track in songs:

        def estimate(spec: torch.Tensor) -> list[torch.Tensor]:
            masks = model._modelled_masks(spec)
            mv, mi = masks[:, :, 0], masks[:, :, 1]
            out = [f(spec, mv, mi) for f in table.values()]
            swapped = model._modelled_masks(spec.flip(1))[:, :, 0].flip(1)
            both = (mv + swapped) / 2
            out += [spec * extend_mask(both**p, model.stft_cfg) for p in swap.values()]
            return out

        with torch.inference_mode():
            vocals = _overlap_add(track.mixture, model, estimate, None, CHUNK_FRAMES, None)
        for name, v in zip(per, vocals, strict=True):
            per[name][track.name] = judge.score_track(track, v, "fast")
    return {name: judge.PowerScores(s) for name, s in per.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--model")
    parser.add_argument(
        "--power", type=float, help="the power the variants are built around (default: the model's own)"
    )
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    songs = judge.load_songs(Path(args.folder))
    model = load_model(args.model, device="cpu", vocal_mask_power=1.0)
    calibrated = args.power or load_model(args.model, device="cpu").vocal_mask_power
    scores = score_variants(model, songs, calibrated)
    base = scores[f"power {calibrated}"].overall
    rows = [
        "| variant | "
        + " | ".join(t.name for t in songs)
        + " | median vocals | median instrumental | overall | vs power |",
        "|---|" + "---:|" * len(songs) + "---:|---:|---:|---:|",
    ]
    for name, s in sorted(scores.items(), key=lambda kv: -kv[1].overall):
        cells = " | ".join(f"{v:.2f} / {i:.2f}" for v, i in s.per_song.values())
        rows.append(
            f"| {name} | {cells} | {s.vocals:.2f} | {s.instrumental:.2f} | "
            f"{s.overall:.2f} | {s.overall - base:+.2f} |"
        )
    body = (
        f"Model {args.model or 'shipped'} ({model.version}), calibrated power {calibrated}; "
        "fast SDR on the validation songs, vocals / instrumental per song.\n\n" + "\n".join(rows)
    )
    record("Richer calibrations on the validation songs", body, dry_run=args.no_record)


if __name__ == "__main__":
    main()
