"""The README's run command, demo path: no tokens → the bundled song through queue and worker."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from testbed.workers import REPO

pytestmark = pytest.mark.services  # run.sh starts redis-server and a worker (and needs ffmpeg)

SERVICE_VARS = (
    "TELEGRAM_BOT_TOKEN",
    "DISCORD_BOT_TOKEN",
    "STRIPE_API_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "REDIS_URL",
    "STORAGE_DIR",
    "S3_BUCKET",
)


def test_run_script_demo_prints_stems_and_waveform_and_cleans_up(tmp_path: Path, tiny_model: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(
        SKIP_INSTALL="1", VAR_DIR=str(tmp_path / "var"), MODEL_PATH=str(tiny_model), TORCH_NUM_THREADS="1"
    )
    done = subprocess.run(
        ["bash", str(REPO / "scripts/run.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "no bot tokens set: running the local demo" in out
    for kind in ("preview", "full"):
        block = out.split(f"{kind} ready")[1]
        for name in ("vocals", "instrumental", "waveform"):
            path = Path(re.search(rf"^\s+{name}\s+(\S+)$", block, re.M).group(1))
            assert path.is_file() and path.is_relative_to(tmp_path / "var" / "storage")
    # Everything it started (redis-server, the worker, RQ's scheduler) is gone.
    for pid in re.findall(r"\(pid (\d+),", out):
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )
