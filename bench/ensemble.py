"""An ensemble of models, scored on the validation songs (the judge): is a second network pass
worth its CPU time? (issue 27, lever 4: spend the speed headroom on quality.)

    python bench/ensemble.py ../shared/data/valid --model models/vocals-unet.pt \
        --model OTHER.pt [--model ...] [--no-record]

Each model is scored alone, then their ensemble: the networks' masks averaged per chunk before the
vocal-mask power is applied — one more network pass per member, so an ensemble of two costs
about twice the separation time — every power of ``engine.songs.SONG_POWERS`` from that one
averaged pass, with the judge's fast SDR (``bench/song_judge.py`` shows it ranks as museval
does). All members must share the STFT settings (every model this project trained does).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._record import record
from engine import songs as judge
from engine.predict import Separator, load_model


class AveragedMasks(torch.nn.Module):
    """A mask network whose masks are the mean of its members' (``engine.model.MaskNetwork``)."""

    def __init__(self, members: Sequence[torch.nn.Module]) -> None:
        super().__init__()
        self.members = torch.nn.ModuleList(members)

    def masks_for(self, spec: torch.Tensor) -> torch.Tensor:
        masks = [m.masks_for(spec) for m in self.members]  # type: ignore[operator]
        return torch.stack(masks).mean(dim=0)

    def eval(self) -> Self:
        return super().eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="validation songs: <song>/vocals, accompaniment[, mixture]")
    parser.add_argument("--model", action="append", required=True, help="a member; give two or more")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    if len(args.model) < 2:
        parser.error("an ensemble needs two --model or more")
    songs = judge.load_songs(Path(args.folder))
    members = [load_model(path, device="cpu", vocal_mask_power=1.0) for path in args.model]
    cfgs = {m.stft_cfg for m in members}
    if len(cfgs) != 1:
        parser.error("the members' STFT settings differ")
    ensemble = Separator(
        AveragedMasks([m.net for m in members]),  # type: ignore[list-item]
        members[0].stft_cfg,
        "+".join(m.version for m in members),
        device="cpu",
    )

    rows = []
    contenders = [*((f"{m.version} alone", m) for m in members), ("ensemble (mean of masks)", ensemble)]
    for name, model in contenders:
        start = time.perf_counter()
        scores = judge.score_by_power(model, songs, judge.SONG_POWERS, "fast")
        seconds = time.perf_counter() - start
        best = judge.best_power(scores)
        rows.append((name, best, scores[best], seconds))
        print(f"{name}: best power {best} ({scores[best].describe()}), {seconds:.0f} s", flush=True)

    names = " | ".join(t.name for t in songs)
    head = f"| model | best power | {names} | vocals | instrumental | overall | judge time |"
    rule = "|---|---:|" + "---:|" * len(songs) + "---:|---:|---:|---:|"
    lines = [head, rule]
    for name, best, s, seconds in rows:
        cells = " | ".join(f"{v:.2f} / {i:.2f}" for v, i in s.per_song.values())
        medians = f"{s.vocals:.2f} | {s.instrumental:.2f} | {s.overall:.2f}"
        lines.append(f"| {name} | {best} | {cells} | {medians} | {seconds:.0f} s |")
    text = (
        f"Songs `{args.folder}` ({len(songs)}), fast SDR (median of 1-s frames, then of songs), "
        "best power of `engine.songs.SONG_POWERS` for each row; judge time = separating every song "
        "once at every power on this machine (the ensemble's includes each member's pass).\n\n"
        + "\n".join(lines)
    )
    print(text)
    if not args.no_record:
        record("Ensemble of models on the validation songs", text)


if __name__ == "__main__":
    main()
