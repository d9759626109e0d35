"""How real songs are mixed, beside how the training remixes are: the vocal-to-accompaniment level,
the share of time the voice is active, and the stereo placement of each stem.

    python bench/pair_levels.py ../shared/data/train [--no-record]

Measured on the stereo true pairs of the training data (the produced album and the band
recordings — never ``valid/``) in consecutive 3-s patches, and on as many remixes drawn by
``engine.data.Remixer`` (the training recipe). Levels are RMS in dB; a patch is "voiced" where its
vocals are no more than ``SONG_VOICED_DB`` below the whole mix (what the validation counts as sung);
the level of the vocals against the accompaniment is reported over voiced patches only. Placement
is the side-to-mid energy ratio in dB (−∞: dead centre; 0: as wide as it is deep).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._record import record
from engine.data import LEVELS, PATCH_FRAMES, SONG_VOICED_DB, Remixer, load_pools
from engine.transforms import STFTConfig

REMIXES = 2000
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def _side_to_mid(x: np.ndarray) -> float:
    mid, side = (x[0] + x[1]) / 2, (x[0] - x[1]) / 2
    return _db(side) - _db(mid)


def patch_stats(vocals: np.ndarray, acc: np.ndarray) -> tuple[bool, float, float, float]:
    """(voiced, vocals − accompaniment dB, vocal side/mid dB, accompaniment side/mid dB)."""
    voiced = _db(vocals) - _db(vocals + acc) > SONG_VOICED_DB
    return voiced, _db(vocals) - _db(acc), _side_to_mid(vocals), _side_to_mid(acc)


def summarise(name: str, rows: list[tuple[bool, float, float, float]]) -> str:
    arr = np.array(rows, dtype=np.float64)
    voiced = arr[:, 0] > 0
    cells = [name, str(len(rows)), f"{voiced.mean():.0%}"]
    for column, mask in ((1, voiced), (2, voiced), (3, np.ones_like(voiced))):
        values = arr[mask, column]
        values = values[np.isfinite(values)]
        q = np.quantile(values, QUANTILES) if values.size else [np.nan] * len(QUANTILES)
        cells.append(" / ".join(f"{v:.1f}" for v in q))
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="+")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    data = [Path(d) for d in args.data]
    pools = load_pools(data, "train")
    length = (PATCH_FRAMES - 1) * STFTConfig().hop
    real = []
    for vocals, acc in pools.pairs:
        if vocals.shape[0] != 2:
            continue
        v, a = vocals.astype(np.float32), acc.astype(np.float32)
        for s in range(0, v.shape[-1] - length + 1, length):
            if _db(a[:, s : s + length]) > -70:
                real.append(patch_stats(v[:, s : s + length], a[:, s : s + length]))
    recipes = {}
    for levels in LEVELS:
        rng = np.random.default_rng(0)
        remixer = Remixer(pools, augment=True, levels=levels)
        recipes[levels] = [patch_stats(*remixer.sample(length, rng)[1:3]) for _ in range(REMIXES)]
    q = "/".join(f"q{int(x * 100)}" for x in QUANTILES)
    body = "\n".join(
        [
            f"3-s patches; quantiles {q}; levels in dB.",
            "",
            "| source | patches | voiced | vocals − accompaniment (voiced) | vocal side/mid (voiced) "
            "| accompaniment side/mid |",
            "|---|---:|---:|---|---|---|",
            summarise("real stereo pairs (album + band recordings)", real),
            *(summarise(f"training remixes, levels={levels}", rows) for levels, rows in recipes.items()),
        ]
    )
    record("How songs are mixed vs the training remixes", body, dry_run=args.no_record)


if __name__ == "__main__":
    main()
