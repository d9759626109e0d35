"""Command line: ``python -m engine separate|train|calibrate|evaluate``.

Exit codes: 0 done, 2 the input cannot be used (message says why), 1 anything else went wrong,
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from engine.constants import CALIBRATION_EXAMPLES, LOSSES
from engine.errors import AudioError
from service.limits import OUTPUT_FORMATS, PREVIEW_LENGTH_S
from texts import text_of

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _separate(args: argparse.Namespace) -> int:
    from engine.activity import first_vocal_entry
    from engine.audio import decode, encode, preview_cut
    from engine.predict import Stems, load_model, separate
    from engine.waveform import render_waveforms

    song = Path(args.song)
    if not song.is_file():
        print(f"error: no such file: {song}", file=sys.stderr)
        return EXIT_BAD_INPUT
    model = load_model(args.model, instrumental=args.instrumental)
    audio = decode(song)
    with tqdm(total=100, desc=f"separating {song.name}", unit="%") as bar:

        def progress(fraction: float) -> None:
            bar.update(round(fraction * 100) - bar.n)

        stems = separate(audio, model, progress)
    out = Path(args.output or song.parent)
    written = []
    if args.preview:
        start = first_vocal_entry(stems.vocals)
        stems = Stems(
            vocals=preview_cut(stems.vocals, start, PREVIEW_LENGTH_S),
            instrumental=preview_cut(stems.instrumental, start, PREVIEW_LENGTH_S),
        )
        mixture = preview_cut(audio, start, PREVIEW_LENGTH_S)
        written.append(render_waveforms(mixture, stems, out / f"{song.stem}_waveform.png"))
        suffix = "_preview"
    else:
        suffix = ""
    for name in ("vocals", "instrumental"):
        path = out / f"{song.stem}_{name}{suffix}.{args.format}"
        written.append(encode(getattr(stems, name), path, args.format))
    for path in written:
        print(path)
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    from engine.data import STEREO_PAIR_SHARE
    from engine.train import TrainConfig, train

    cfg = TrainConfig(
        data=[Path(d) for d in args.data],
        run_dir=Path(args.run_dir),
        steps=args.steps,
        max_minutes=args.max_minutes,
        batch=args.batch,
        lr=args.lr,
        width=args.width,
        stereo=args.stereo,
        validate_every=args.validate_every,
        validation_examples=args.validation_examples,
        seed=args.seed,
        device=args.device,
        export=Path(args.export) if args.export else None,
        augment=not args.no_augment,
        production=args.production,
        stereo_pair_share=(STEREO_PAIR_SHARE if args.stereo_pair_share is None else args.stereo_pair_share),
        loaders=args.loaders,
        loss=args.loss,
        init=Path(args.init) if args.init else None,
        keep_snapshots=args.keep_snapshots,
        songs=Path(args.songs) if args.songs else None,
        levels=args.levels,
    )
    train(cfg)
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    from engine.evaluate import evaluate, format_table
    from engine.predict import load_model

    modes = ["residual", "mask"] if args.instrumental == "both" else [args.instrumental]
    models = {}
    for mode in modes:
        model = load_model(args.model, instrumental=mode)
        models[f"{model.version} ({mode})"] = model
    print(format_table(evaluate(Path(args.folder), models)))
    return EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    from engine.calibrate import calibrate_model_file, describe, export_calibrated

    data = [Path(d) for d in args.data]
    songs = Path(args.songs) if args.songs else None
    judge = "songs" if songs else "remixes"
    if args.export:
        model = Path(args.export)
        power, version, scores = export_calibrated(Path(args.model), model, data, songs, args.examples)
    else:
        model = Path(args.model)
        power, version, scores = calibrate_model_file(model, data, songs, args.examples)
    print(f"validation medians by vocal-mask power (SDR, dB, on the {judge}):")
    if songs:
        from engine.songs import PowerScores, table

        # Judged on songs, every power's scores are PowerScores.
        print(table({p: s for p, s in scores.items() if isinstance(s, PowerScores)}))
    else:
        print(describe(scores))
    print(f"{model}: vocal mask power {power}, version {version}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sep = sub.add_parser("separate", help="split a song into vocals and instrumental")
    sep.add_argument("song")
    sep.add_argument("-o", "--output", help="output folder (default: next to the song)")
    sep.add_argument("--format", choices=OUTPUT_FORMATS, default="wav")
    sep.add_argument(
        "--preview",
        action="store_true",
        help=f"only {PREVIEW_LENGTH_S:.0f} s from the first vocal entry, and a waveform PNG",
    )
    sep.add_argument("--model", help="model file (default: the shipped models/vocals-unet.pt)")
    sep.add_argument("--instrumental", choices=("residual", "mask"), default="residual")
    sep.set_defaults(func=_separate)

    tr = sub.add_parser("train", help="train a model on a data folder (resumes a run folder)")
    tr.add_argument("data", nargs="+", help="folders of tracks and vocal/instrumental pools")
    tr.add_argument("--run-dir", required=True, help="checkpoints go here; an existing run resumes")
    tr.add_argument("--steps", type=int, default=12000)
    tr.add_argument("--max-minutes", type=float, help="stop after this much training time")
    tr.add_argument("--batch", type=int, default=8)
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--width", type=int, default=8)
    tr.add_argument(
        "--stereo",
        action="store_true",
        help="one pass over the stereo pair (L, R, mid, side in; a mask per channel out)",
    )
    tr.add_argument("--validate-every", type=int, default=250)
    tr.add_argument(
        "--validation-examples",
        type=int,
        default=CALIBRATION_EXAMPLES,
        help="validation remixes each validation (and the export's calibration) scores on "
        f"(default {CALIBRATION_EXAMPLES})",
    )
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--device", help="cpu or cuda (default: cuda if present)")
    tr.add_argument("--no-augment", action="store_true", help="plain remixes only")
    tr.add_argument(
        "--production",
        action="store_true",
        help="vocal production effects (doubles, harmonies, delays, reverbs) and bus "
        "compression on the remixes (engine/production.py)",
    )
    tr.add_argument(
        "--stereo-pair-share",
        type=float,
        help="share of true-pair examples drawn from the stereo (produced) songs "
        "rather than the mono karaoke pairs (default: engine.data's)",
    )
    tr.add_argument(
        "--loaders",
        type=int,
        default=0,
        help="remix in this many worker processes (a GPU machine); 0: one thread",
    )
    tr.add_argument(
        "--loss",
        choices=LOSSES,
        default="magnitude",
        help="magnitude: the paper's L1 on masked magnitudes; magnitude+wave: plus an "
        "L1 on the output waveforms (mixture phase); phase: L1 on complex "
        "spectrograms, the masked mixture keeping the mixture's phase",
    )
    tr.add_argument("--init", help="start a new run from this model's weights (fine-tuning)")
    tr.add_argument("--export", help="write the best averaged weights here as a shippable model")
    tr.add_argument(
        "--keep-snapshots",
        action="store_true",
        help="also export the averaged weights at every validation to "
        "RUN_DIR/snapshots/ (to re-choose among them later)",
    )
    tr.add_argument(
        "--songs",
        help="validation songs with their stems (../shared/data/valid): "
        "best.pt and the export's mask power are chosen on them",
    )
    tr.add_argument(
        "--levels",
        choices=("remix", "songs"),
        default="remix",
        help="the voice's level in the remixes: remix (−6…+4 dB against the band) or "
        "songs (as the real training songs have it; engine.data)",
    )
    tr.set_defaults(func=_train)

    cal = sub.add_parser("calibrate", help="choose a model's vocal-mask power on the validation split")
    cal.add_argument(
        "model",
        help="exported model file, rewritten with its calibration; or, with "
        "--export, a training run's checkpoint (runs/NAME/best.pt)",
    )
    cal.add_argument("data", nargs="+", help="the data folders it was trained on")
    cal.add_argument("--export", help="export the run checkpoint here as a model file first")
    cal.add_argument(
        "--songs",
        help="choose the power on these validation songs with their stems "
        "(../shared/data/valid) rather than on the data's remixes",
    )
    cal.add_argument(
        "--examples",
        type=int,
        default=CALIBRATION_EXAMPLES,
        help=f"validation remixes to score on, without --songs (default {CALIBRATION_EXAMPLES})",
    )
    cal.set_defaults(func=_calibrate)

    ev = sub.add_parser("evaluate", help="SDR (museval) on <track>/{mixture,vocals,accompaniment}")
    ev.add_argument("folder")
    ev.add_argument("--model", help="model file (default: the shipped model)")
    ev.add_argument("--instrumental", choices=("residual", "mask", "both"), default="both")
    ev.set_defaults(func=_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except AudioError as exc:
        print(f"error: {text_of(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
