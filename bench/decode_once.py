"""What decoding an upload once would save on upload → preview latency.

Today the upload is decoded twice: at submit (``jobs.submit``: validation and the content hash)
and again by the worker (``jobs.tasks``). "Decode once" would keep the submit's float32 array and
hand it to the worker through storage instead of the mp3. This times, in one process, on the same
4-minute mp3 (cut from the demo song like ``bench/pipeline_bench.py``'s): the stages of the
preview path with the shipped model — submit (decode, hash, store the upload), worker (fetch,
decode, separate the preview, encode both stems, waveform) — and the hand-off decode-once would
need instead of the worker's decode (store the array as ``.npy``, fetch it, load it). Saving =
worker decode − hand-off. Redis and the queue are left out (they are the same either way).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._record import record
from bench.pipeline_bench import make_song
from engine.audio import content_hash, decode, encode
from engine.predict import load_model
from engine.waveform import render_waveforms
from jobs import LocalStorage, Settings
from jobs.tasks import _separate_preview

RUNS = 3
# Worth doing only if it saves more than this share of upload → preview latency.
WORTH_IT = 0.10


class _Quiet:
    """Stands in for the worker's progress reporter."""

    def report(self, percent: float) -> None:
        pass


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def one_run(song: Path, work: Path, model: Any, run: int) -> dict[str, float]:
    storage = LocalStorage(work / f"storage{run}")
    t: dict[str, float] = {}
    t["submit decode"], audio = _timed(lambda: decode(song))
    t["submit hash"], _ = _timed(lambda: content_hash(audio))
    t["submit store upload"], _ = _timed(lambda: storage.put_file("inputs/song.mp3", song))
    t["worker fetch upload"], fetched = _timed(
        lambda: storage.get_file("inputs/song.mp3", work / f"fetched{run}.mp3")
    )
    t["worker decode"], again = _timed(lambda: decode(fetched))
    ctx = SimpleNamespace(settings=Settings(), model=model)
    t["worker separate preview"], (_, mixture, stems) = _timed(
        lambda: _separate_preview(ctx, again, _Quiet())  # type: ignore[arg-type]
    )
    t["worker encode 2 stems"], _ = _timed(
        lambda: [
            encode(stems.vocals, work / f"v{run}.mp3", "mp3"),
            encode(stems.instrumental, work / f"i{run}.mp3", "mp3"),
        ]
    )
    t["worker waveform"], _ = _timed(lambda: render_waveforms(mixture, stems, work / f"w{run}.png"))
    # Decode once: the submit's array travels instead (written, stored, fetched, loaded).
    npy = work / f"audio{run}.npy"
    t["hand-off: save .npy"], _ = _timed(lambda: np.save(npy, audio))
    t["hand-off: store"], _ = _timed(lambda: storage.put_file("inputs/audio.npy", npy))
    t["hand-off: fetch"], got = _timed(lambda: storage.get_file("inputs/audio.npy", work / f"got{run}.npy"))
    t["hand-off: load"], _ = _timed(lambda: np.load(got))
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--model", help="model file (default: the shipped model)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    model = load_model(args.model)
    with tempfile.TemporaryDirectory(prefix="vr-decode-once-") as tmp:
        work = Path(tmp)
        song = make_song(work / "song.mp3", args.minutes, 1.7)
        runs = [one_run(song, work, model, i) for i in range(RUNS)]
    med = {name: statistics.median(r[name] for r in runs) for name in runs[0]}
    path_names = [n for n in med if not n.startswith("hand-off")]
    latency = sum(med[n] for n in path_names)
    handoff = sum(v for n, v in med.items() if n.startswith("hand-off"))
    saving = med["worker decode"] - handoff
    share = saving / latency
    rows = [f"| {name} | {med[name]:.2f} |" for name in med]
    verdict = (
        f"worth doing (over {WORTH_IT:.0%})"
        if share > WORTH_IT
        else f"not worth it (under {WORTH_IT:.0%}): the worker keeps decoding the upload"
    )
    body = (
        f"`python bench/decode_once.py` — a {args.minutes:g}-min mp3 (192k), model "
        f"{model.version}, one process, median of {RUNS} runs (seconds); Redis and the queue "
        "left out.\n\n| stage | median s |\n|---|---:|\n"
        + "\n".join(rows)
        + f"\n\nPreview path (submit + worker): **{latency:.2f} s**. Decode once would drop the "
        f"worker's decode ({med['worker decode']:.2f} s) and add the hand-off ({handoff:.2f} s): "
        f"saving **{saving:.2f} s = {share:.1%}** of the path — {verdict}. Even a free hand-off "
        f"(the array never written) would save at most {med['worker decode'] / latency:.1%}. "
        "Conditions: a training run shared the 2 cores, so every stage is slower than on a quiet "
        "machine; the shares, not the seconds, are the result."
    )
    record("Decode once: what the second decode of an upload costs the preview", body, dry_run=args.no_record)


if __name__ == "__main__":
    main()
