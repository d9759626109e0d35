"""The README's run command, demo path: no tokens → the bundled song through queue and worker,
paid for in the local ledger, and its results pages served on loopback until Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from testbed.workers import REPO

pytestmark = pytest.mark.services  # run.sh starts redis-server and a worker (and needs ffmpeg)

DEMO_TIMEOUT_S = 300.0
# run.sh stops its processes one by one, newest first, each given 10 s after SIGTERM before
# SIGKILL (redis-server, the worker and its scheduler, the web server): at worst about 40 s.
CTRL_C_EXIT_S = 120.0
SERVICE_VARS = (
    "TELEGRAM_BOT_TOKEN",
    "DISCORD_BOT_TOKEN",
    "STRIPE_API_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "DOWNLOAD_SECRET",
    "DATABASE_URL",
    "PUBLIC_BASE_URL",
    "REDIS_URL",
    "STORAGE_DIR",
    "S3_BUCKET",
)


def test_run_script_demo_prints_files_and_pages_serves_them_until_ctrl_c_and_cleans_up(
    tmp_path: Path, tiny_model: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(
        SKIP_INSTALL="1", VAR_DIR=str(tmp_path / "var"), MODEL_PATH=str(tiny_model), TORCH_NUM_THREADS="1"
    )
    demo = subprocess.Popen(
        ["bash", str(REPO / "scripts/run.sh")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    watchdog = threading.Timer(DEMO_TIMEOUT_S, demo.kill)  # a hung demo ends the read below
    watchdog.start()
    try:
        assert demo.stdout is not None
        for line in demo.stdout:  # until the demo says the pages stay up
            lines.append(line)
            if "stay up until Ctrl-C" in line:
                break
        out = "".join(lines)
        assert "stay up until Ctrl-C" in out, out
        pages = re.findall(r"^\s+page\s+(http://127\.0\.0\.1:\d+/r/\S+)$", out, re.M)
        assert len(pages) == 2, out
        for page in pages:  # the preview's, then the paid full song's: both pass the page's checks
            with urllib.request.urlopen(page, timeout=30) as reply:
                assert reply.status == 200 and "demo-song" in reply.read().decode()
        os.kill(demo.pid, signal.SIGINT)  # Ctrl-C
        assert demo.wait(timeout=CTRL_C_EXIT_S) == 130
    finally:
        watchdog.cancel()
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert "no bot tokens set: running the local demo" in out
    for kind in ("preview", "full"):
        block = out.split(f"{kind} ready")[1]
        for name in ("vocals", "instrumental", "waveform"):
            path = Path(re.search(rf"^\s+{name}\s+(\S+)$", block, re.M).group(1))
            assert path.is_file() and path.is_relative_to(tmp_path / "var" / "storage")
    # Everything it started (redis-server, the worker, RQ's scheduler, the web server) is gone.
    for pid in re.findall(r"\(pid (\d+),", out):
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )
