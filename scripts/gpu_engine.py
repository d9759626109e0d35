"""``python -m engine`` for ``scripts/gpu_train.sh``: the same command line, run so that it works on
the lent GPU machine, whose image lacks two things the engine's song judge reaches for.

    python scripts/gpu_engine.py train DATA... --songs PACK/valid ...   # as python -m engine train
    python scripts/gpu_engine.py calibrate best.pt DATA... --songs PACK/valid --export model.pt

- **museval** is not installed there (/work/.library/device/KINDS.md lists the image's packages);
  nothing here needs it: ``engine.evaluate`` imports it only where BSSEval is scored, and the run
  scores songs with the judge's ``fast`` metric.
- **ffmpeg** may be missing there, and ``engine.songs.load_songs`` decodes through
  ``engine.audio.decode`` (ffmpeg). The songs this run reads are the pack's, unpacked by
  ``build_gpu_pack.py unpack`` to float WAV at 44.1 kHz, so :func:`read_songs` reads them with
  soundfile instead: the same samples ffmpeg would give (a float WAV at the engine's rate
  decodes unchanged; tests/engine/test_gpu_pack.py checks it). It always does, here and there,
  so the CPU smoke test runs the device's code path.
- cuDNN picks its fastest algorithms (``torch.backends.cudnn.benchmark``): the patch shape is
  fixed for a whole run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.constants import SAMPLE_RATE

STEMS = ("vocals", "accompaniment")


def _read(path: Path) -> np.ndarray:
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise ValueError(
            f"{path} is at {rate} Hz, not {SAMPLE_RATE}: unpack the pack first "
            "(build_gpu_pack.py unpack resamples to the engine's rate)"
        )
    if data.shape[1] == 1:
        data = np.repeat(data, 2, axis=1)
    elif data.shape[1] != 2:
        raise ValueError(f"{path} has {data.shape[1]} channels; the songs are stereo")
    return np.ascontiguousarray(data.T)


def read_songs(folder: Path) -> list:  # list[engine.evaluate.Track]
    """``engine.songs.load_songs`` for unpacked WAV songs, without ffmpeg: every ``<song>/`` with
    ``vocals.wav`` and ``accompaniment.wav``, its ``mixture.wav`` where it has one, else the sum
    of the two stems (as ``engine.evaluate.load_tracks``)."""
    from engine.evaluate import Track

    tracks = []
    for song in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        paths = {name: song / f"{name}.wav" for name in ("mixture", *STEMS)}
        if not all(paths[name].is_file() for name in STEMS):
            continue
        parts = {name: _read(path) for name, path in paths.items() if path.is_file()}
        if "mixture" not in parts:
            n = min(parts[name].shape[-1] for name in STEMS)
            parts = {name: parts[name][:, :n] for name in STEMS}
            parts["mixture"] = parts["vocals"] + parts["accompaniment"]
        tracks.append(Track(song.name, **parts))
    if not tracks:
        raise FileNotFoundError(f"no <song>/vocals.wav,accompaniment.wav under {folder}")
    return tracks


def prepare() -> None:
    """Everything the module docstring lists, before the engine's training modules load."""
    import torch

    torch.backends.cudnn.benchmark = True
    from engine import songs

    songs.load_songs = read_songs  # engine.train and engine.calibrate call it through the module


def main(argv: list[str] | None = None) -> int:
    prepare()
    from engine.cli import main as engine_main

    return engine_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
