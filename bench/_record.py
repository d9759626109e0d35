"""Shared by the benchmark scripts: machine description and appending a dated section to
docs/BENCHMARKS.md, so every figure there says what, where, when and on which machine."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "docs" / "BENCHMARKS.md"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    gpu = ""
    try:
        import torch

        if torch.cuda.is_available():
            gpu = f", GPU {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GB RAM{gpu}"


def commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    return out.stdout.strip() or "uncommitted"


def record(title: str, body: str, dry_run: bool = False) -> None:
    """Append a section; earlier results stay, so the file is the history of every measurement.
    ``dry_run`` (the scripts' ``--no-record``) only prints it."""
    if dry_run:
        print(body)
        return
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"\n### {title}\n\n_When:_ {stamp} · _Machine:_ {machine()} · _Commit:_ {commit()}\n\n"
        f"{body.strip()}\n"
    )
    BENCHMARKS.parent.mkdir(parents=True, exist_ok=True)
    if not BENCHMARKS.exists():
        BENCHMARKS.write_text("# Benchmarks\n\nEvery figure here was produced by a script in bench/.\n")
    with BENCHMARKS.open("a") as f:
        f.write(section)
    print(section)
