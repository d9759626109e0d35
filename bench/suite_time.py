"""Where the test suite's time goes: a tier's wall time, its cost per test file, its slowest tests.

    python bench/suite_time.py --run after [--tier slow] [--note TEXT] [--no-record]
    python bench/suite_time.py before=OUT1 after=OUT2 [--top 15] [--note TEXT] [--no-record]

Each ``LABEL=FILE`` is the saved output of ``python -m pytest -m slow --durations=0 -q -p
no:cacheprovider`` (what CI's slow tier runs, plus ``--durations=0``); ``--run LABEL`` runs that
command here first (``--tier`` picks the marker expression). The table compares the labels side
by side: the tier's wall time as pytest reports it, then the seconds of each of the costliest
test files (setup, call and teardown summed) and of the slowest tests. Timings on a shared
machine are inflated by whatever else runs: the note should say how loaded it was
(``uptime``'s load average), and only the relative costs of one run compare with another's.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._record import record

ROOT = Path(__file__).resolve().parent.parent
DURATION = re.compile(r"^(\d+\.\d+)s (setup|call|teardown)\s+(\S+)$")
SUMMARY = re.compile(r"^=* ?(.*?) in (\d+\.\d+)s")


@dataclass
class Run:
    """One pytest run's durations (seconds) by test id and by file, and its reported wall time."""

    label: str
    wall_s: float = 0.0
    outcome: str = ""
    tests: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    files: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @classmethod
    def parse(cls, label: str, text: str) -> Run:
        run = cls(label)
        for line in text.splitlines():
            if m := DURATION.match(line.strip()):
                seconds, test = float(m.group(1)), m.group(3)
                run.tests[test] += seconds
                run.files[test.split("::")[0]] += seconds
            elif m := SUMMARY.match(line.strip()):
                run.outcome, run.wall_s = m.group(1).strip("= "), float(m.group(2))
        if not run.tests:
            raise SystemExit(f"{label}: no --durations lines in the output")
        return run


def run_tier(label: str, tier: str) -> Run:
    command = [sys.executable, "-m", "pytest", "-m", tier, "--durations=0", "-q", "-p", "no:cacheprovider"]
    with tempfile.TemporaryFile("w+") as out:
        subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)
        out.seek(0)
        return Run.parse(label, out.read())


def table(runs: list[Run], top: int) -> str:
    head = "| | " + " | ".join(r.label for r in runs) + " |\n|---|" + "---:|" * len(runs) + "\n"
    rows = [
        "| **tier wall time, s** | " + " | ".join(f"**{r.wall_s:.0f}**" for r in runs) + " |",
        "| outcome | " + " | ".join(r.outcome for r in runs) + " |",
    ]
    first = runs[0]
    for name, pick in (("file", "files"), ("test", "tests")):
        costliest = sorted(getattr(first, pick), key=lambda k: -getattr(first, pick)[k])[:top]
        for key in costliest:
            found = [getattr(r, pick).get(key) for r in runs]
            cells = ["–" if seconds is None else f"{seconds:.1f}" for seconds in found]  # not run
            rows.append(f"| {name} `{key.removeprefix('tests/')}` | " + " | ".join(cells) + " |")
    return head + "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outputs", nargs="*", help="LABEL=FILE: a saved pytest --durations=0 output")
    parser.add_argument("--run", metavar="LABEL", help="run the tier here and add it under LABEL")
    parser.add_argument("--tier", default="slow", help="the -m expression of --run (default: slow)")
    parser.add_argument("--top", type=int, default=12, help="files and tests listed (default 12)")
    parser.add_argument("--note", default="", help="what ran, where, and how loaded the machine was")
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args()
    runs = []
    for spec in args.outputs:
        label, _, path = spec.partition("=")
        if not path:
            raise SystemExit(f"{spec!r}: expected LABEL=FILE")
        runs.append(Run.parse(label, Path(path).read_text(errors="replace")))
    if args.run:
        runs.append(run_tier(args.run, args.tier))
    if not runs:
        raise SystemExit("nothing to show: give LABEL=FILE outputs or --run LABEL")
    body = (
        f"`python -m pytest -m {args.tier} --durations=0 -q -p no:cacheprovider`; seconds per test "
        f"file and per test (setup + call + teardown), ordered by the first column.\n"
        + (f"\n{args.note}\n" if args.note else "")
        + "\n"
        + table(runs, args.top)
    )
    record("Test suite time", body, dry_run=args.no_record)


if __name__ == "__main__":
    main()
