"""The one ``main()`` of the benchmarks that score an evaluation folder: arguments, tracks, record.

``highband.py``, ``postprocess.py``, ``quality.py`` and ``stft_choice.py`` each only say how to
turn the folder's tracks into a Markdown body; :func:`eval_folder_main` parses the same arguments
(``FOLDER``, ``--model`` where a model is scored, ``--no-record``), loads the tracks once and
appends the body under ``title`` to docs/BENCHMARKS.md (``bench._record.record``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from bench._record import record
from engine.evaluate import Track, load_tracks

Models = Literal["none", "one", "many"]


def eval_folder_main(
    title: str, body: Callable[[list[Track], argparse.Namespace], str], models: Models = "one"
) -> None:
    """Parse the arguments, load the folder's tracks, build ``body(tracks, args)`` and record it.
    ``models``: no ``--model``, one (``args.model``: a path or None for the shipped model), or
    many (``args.model``: a list, repeat the flag; empty for the shipped model)."""
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("folder", help="evaluation folder: <track>/mixture, vocals, accompaniment")
    if models == "one":
        parser.add_argument("--model", help="model file (default: the shipped model)")
    elif models == "many":
        parser.add_argument(
            "--model",
            action="append",
            default=[],
            help="model file; repeat to compare (default: the shipped model)",
        )
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="print the section instead of appending it to docs/BENCHMARKS.md",
    )
    args = parser.parse_args()
    tracks = load_tracks(Path(args.folder))
    record(title, body(tracks, args), dry_run=args.no_record)
