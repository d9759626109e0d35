"""Evaluation with museval (BSSEval v4): SDR per 1-second frame, median over frames, then median
over tracks — the protocol of the SiSEC/MUSDB18 results, so our numbers compare with published ones.

Every table carries two reference rows computed on the same tracks: the mixture used as the
estimate (the floor: what doing nothing scores) and the oracle ideal ratio mask built from the true
stems with our own STFT and the mixture's phase (the ceiling of any magnitude-mask model with this
STFT). A model's number means something only between these two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.audio import decode
from engine.constants import SAMPLE_RATE
from engine.predict import Separator, Stems, separate
from engine.transforms import STFTConfig, extend_mask, istft, stft

SOURCES = ("vocals", "accompaniment")
FRAME_S = 1.0

Estimator = Callable[[np.ndarray], Stems]


@dataclass
class Track:
    name: str
    mixture: np.ndarray
    vocals: np.ndarray
    accompaniment: np.ndarray


@dataclass
class Row:
    name: str
    vocals_sdr: float
    accompaniment_sdr: float
    per_track: dict[str, tuple[float, float]]


def load_tracks(folder: Path) -> list[Track]:
    """Every ``<track>/`` under ``folder`` with ``vocals.*`` and ``accompaniment.*``; its
    ``mixture.*`` where there is one, else the sum of the two stems (the validation songs ship no
    mixture: one less lossy file that could disagree with its stems)."""
    tracks = []
    for track_dir in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        parts = {}
        for name in ("mixture", *SOURCES):
            found = sorted(track_dir.glob(f"{name}.*"))
            if found:
                parts[name] = decode(found[0], allow_silence=True)
        if not all(name in parts for name in SOURCES):
            continue
        if "mixture" not in parts:
            n = min(parts["vocals"].shape[-1], parts["accompaniment"].shape[-1])
            parts = {k: parts[k][:, :n] for k in SOURCES}
            parts["mixture"] = parts["vocals"] + parts["accompaniment"]
        tracks.append(Track(track_dir.name, **parts))
    if not tracks:
        raise FileNotFoundError(f"no <track>/vocals,accompaniment[,mixture] files under {folder}")
    return tracks


def score(track: Track, stems: Stems) -> tuple[float, float]:
    """Median-over-frames SDR of (vocals, accompaniment) for one track. museval is imported here,
    not with the module: training and calibration score songs with ``engine.songs``' fast metric
    and must run where museval is not installed (the lent GPU machine)."""
    import museval

    refs = np.stack([track.vocals.T, track.accompaniment.T])
    ests = np.stack([stems.vocals.T, stems.instrumental.T])
    win = int(FRAME_S * SAMPLE_RATE)
    sdr, _isr, _sir, _sar = museval.evaluate(refs, ests, win=win, hop=win)
    return float(np.nanmedian(sdr[0])), float(np.nanmedian(sdr[1]))


def evaluate_estimator(name: str, tracks: list[Track], estimate: Callable[[Track], Stems]) -> Row:
    per_track = {t.name: score(t, estimate(t)) for t in tracks}
    values = np.array(list(per_track.values()))
    return Row(name, float(np.median(values[:, 0])), float(np.median(values[:, 1])), per_track)


def mixture_estimate(track: Track) -> Stems:
    return Stems(vocals=track.mixture.copy(), instrumental=track.mixture.copy())


def oracle_irm(track: Track, cfg: STFTConfig | None = None, model_band: bool = False) -> Stems:
    """Ideal ratio mask |V| / (|V| + |A|) on the mixture's STFT, mixture phase.

    With ``model_band`` the mask is known only on the modelled bins and extended above them as
    the engine extends a model's mask: the ceiling of a model with this STFT and band."""
    cfg = cfg or STFTConfig()
    mix = stft(torch.from_numpy(track.mixture), cfg)
    v = stft(torch.from_numpy(track.vocals), cfg).abs()
    a = stft(torch.from_numpy(track.accompaniment), cfg).abs()
    mask = v / (v + a + 1e-8)
    if model_band:
        mask = extend_mask(mask[..., : cfg.bins, :], cfg)
    n = track.mixture.shape[-1]
    vocals = istft(mix * mask, cfg, n).numpy()
    instrumental = istft(mix * (1 - mask), cfg, n).numpy()
    return Stems(vocals=vocals, instrumental=instrumental)


def model_estimator(model: Separator) -> Callable[[Track], Stems]:
    return lambda track: separate(track.mixture, model)


def evaluate(folder: Path, models: dict[str, Separator]) -> list[Row]:
    """Rows for each named model, then the mixture and oracle reference rows."""
    tracks = load_tracks(folder)
    rows = [evaluate_estimator(name, tracks, model_estimator(m)) for name, m in models.items()]
    rows.append(evaluate_estimator("mixture (do nothing)", tracks, mixture_estimate))
    cfg = next(iter(models.values())).stft_cfg if models else None
    rows.append(evaluate_estimator("oracle IRM", tracks, lambda t: oracle_irm(t, cfg)))
    return rows


def format_table(rows: list[Row]) -> str:
    """A Markdown table: one row per method, SDR in dB for vocals and instrumental."""
    width = max(len(r.name) for r in rows)
    lines = [
        f"| {'method':<{width}} | vocals SDR | instrumental SDR |",
        f"|{'-' * (width + 2)}|-----------:|-----------------:|",
    ]
    for r in rows:
        lines.append(f"| {r.name:<{width}} | {r.vocals_sdr:10.2f} | {r.accompaniment_sdr:16.2f} |")
    return "\n".join(lines)
