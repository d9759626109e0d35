"""scripts/supervise.sh, which scripts/run.sh runs every process under: a crashed process is
started again with a doubling back-off and each restart is logged; a stop request reaches the
process once and nothing restarts it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from testbed.workers import REPO

from .conftest import wait_for

SUPERVISE = str(REPO / "scripts" / "supervise.sh")


def _start(tmp_path: Path, *command: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["bash", SUPERVISE, "proc", *command],
        env={**os.environ, "SUPERVISE_LOG": str(tmp_path / "supervise.log"), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # as run.sh's setsid: the command shares the supervisor's group
    )


def test_a_crashing_process_is_restarted_with_doubling_backoff_and_logged(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    supervisor = _start(
        tmp_path,
        "sh",
        "-c",
        f"echo run >> {runs}; exit 3",
        SUPERVISE_BACKOFF_S="0.05",
        SUPERVISE_BACKOFF_MAX_S="0.2",
    )
    try:
        wait_for(lambda: runs.exists() and len(runs.read_text().split()) >= 5, what="restarts")
    finally:
        os.killpg(supervisor.pid, signal.SIGTERM)
    # Stopped while waiting to restart (0), or while the crashing command ran: then the
    # supervisor passes on its status, killed by the same SIGTERM (143). Either way it stays down.
    assert supervisor.wait(timeout=10) in (0, 128 + signal.SIGTERM)
    started = runs.read_text()
    time.sleep(0.5)  # more than the 0.2 s cap: a restart would have come by now
    assert runs.read_text() == started
    log = (tmp_path / "supervise.log").read_text()
    delays = re.findall(r"supervise proc: exited with status 3 after \d+s; restarting in (\S+)s", log)
    assert delays[:4] == ["0.05", "0.1", "0.2", "0.2"]  # doubles, then stays at the cap
    assert log.count("supervise proc: restarting") >= 4


def test_a_stop_request_reaches_the_process_once_and_nothing_restarts_it(tmp_path: Path) -> None:
    """RQ reads a second SIGTERM as "abandon the job now": the supervisor must not send one."""
    seen = tmp_path / "signals"
    child = (
        "import signal, sys, time\n"
        f"def on_term(*_):\n    open({str(seen)!r}, 'a').write('TERM\\n')\n"
        "signal.signal(signal.SIGTERM, on_term)\n"
        f"open({str(seen)!r}, 'a').write('up\\n')\n"
        "while 'TERM' not in open(" + repr(str(seen)) + ").read():\n    time.sleep(0.05)\n"
        "time.sleep(0.5)  # a warm shutdown: finish what is running\n"
        "sys.exit(0)\n"
    )
    supervisor = _start(tmp_path, sys.executable, "-c", child)
    wait_for(lambda: seen.exists() and "up" in seen.read_text(), what="process up")
    os.killpg(supervisor.pid, signal.SIGTERM)
    assert supervisor.wait(timeout=10) == 0  # the process's own status
    time.sleep(0.3)  # a restart, if one were wrongly made, would write "up" again
    assert seen.read_text().split() == ["up", "TERM"]
    assert not (tmp_path / "supervise.log").exists()  # a requested stop is no crash
