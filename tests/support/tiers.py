"""The two test tiers: which tests need what outside pip, and the guard that holds the fast tier.

The **fast tier** (``pytest -m "not slow"``, ``scripts/test.sh --fast``) is the core that needs no
service (redis-server, an RQ worker, PostgreSQL), no apt package (ffmpeg, fluidsynth, festival) and
no browser: a newcomer runs it in under a minute after ``pip install -e .[dev]``. The rest is the
**slow tier**. A test lands there through a marker saying what it needs:

- ``services`` — a redis-server, a real worker process, or PostgreSQL;
- ``apt`` — a program from an apt package: ffmpeg/ffprobe, fluidsynth, festival's text2wave, promtool;
- ``browser`` — Debian's Chromium and chromedriver;
- ``slow`` — the tier itself: every test with one of the above, plus tests that are long even
  without them (a real training run, a whole Python process of the service started, seconds of
  CPU), so that the fast tier stays under a minute on two cores.

Markers follow fixtures, not folders, so they survive tests moving: :func:`mark_by_needs` marks
every test whose fixture closure holds a fixture in :data:`FIXTURE_NEEDS` (a fixture built on
``redis_server`` inherits its need), or a parameter in :data:`PARAM_NEEDS`. Tests that call a
program themselves, with no such fixture, carry the marker explicitly.

The guard makes the tier true rather than hoped for: while a test without ``slow`` sets up, runs
and tears down, the programs of :data:`HIDDEN_PROGRAMS` are taken off ``PATH`` (for it and every
process it starts) and connecting to the default Redis and PostgreSQL ports fails, so a test that
needs one of them and is not marked fails at once, naming what it tried, here and on a machine
that really lacks them.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

TIER_MARKER = "slow"
NEED_MARKERS = ("services", "apt", "browser")

# A fixture here, anywhere in a test's fixture closure, gives the test the marker.
FIXTURE_NEEDS: dict[str, str] = {
    "redis_server": "services",  # tests/conftest.py: a real redis-server (the queue, workers, bots)
    "finished_jobs": "services",  # tests/web: its own redis-server and workers, once a session
    "clips": "apt",  # tests/engine: every input kind, made by ffmpeg
    "bombs": "apt",  # tests/engine/test_audio_bombs.py: decompression bombs, made by ffmpeg
    "media": "apt",  # tests/bots: the songs, voice note and video the bots are sent, via ffmpeg
    "browser": "browser",  # tests/web/test_results_browser.py: Chromium through chromedriver
}
# (fixture, parameter) pairs that give the test the marker: PostgreSQL's variant of the store.
PARAM_NEEDS: dict[tuple[str, str], str] = {
    ("db_url", "postgresql"): "services",
}

HIDDEN_PROGRAMS = frozenset(
    {
        "ffmpeg",
        "ffprobe",
        "ffplay",
        "redis-server",
        "redis-cli",
        "chromium",
        "chromedriver",
        "fluidsynth",
        "text2wave",
        "festival",
        "postgres",
        "pg_ctl",
        "initdb",
        "psql",
        "promtool",
    }
)
GUARDED_PORTS = frozenset({6379, 5432})  # Redis's and PostgreSQL's defaults


def mark_by_needs(items: list[pytest.Item]) -> None:
    """Add the need markers the fixtures imply, then ``slow`` to every test with any need."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        for fixture, need in FIXTURE_NEEDS.items():
            if fixture in fixtures:
                item.add_marker(need)
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            for (name, value), need in PARAM_NEEDS.items():
                if callspec.params.get(name) == value:
                    item.add_marker(need)
        if any(item.get_closest_marker(need) for need in NEED_MARKERS):
            item.add_marker(TIER_MARKER)


def is_fast(item: pytest.Item) -> bool:
    return item.get_closest_marker(TIER_MARKER) is None


def path_without(hidden: frozenset[str], path: str, shim: Path) -> str:
    """A ``PATH`` of one folder, ``shim``, linking every program on ``path`` but ``hidden``.

    The programs to hide share ``/usr/bin`` with ones every test may use (bash, git, nice), so
    the folders cannot simply be dropped; the first program of a name wins, as on ``PATH``."""
    shim.mkdir(parents=True, exist_ok=True)
    for folder in path.split(os.pathsep):
        if not folder or not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            link = shim / entry.name
            if entry.name in hidden or os.path.lexists(link):
                continue
            if entry.is_file() and os.access(entry.path, os.X_OK):
                link.symlink_to(entry.path)
    return str(shim)


class FastTierGuard:
    """Hides the programs and refuses the ports of services while a fast test runs."""

    def __init__(self) -> None:
        self._shim_root = tempfile.TemporaryDirectory(prefix="fast-tier-path-")
        self._path: str | None = None

    def close(self) -> None:
        self._shim_root.cleanup()

    def guarded_path(self) -> str:
        if self._path is None:
            self._path = path_without(
                HIDDEN_PROGRAMS, os.environ.get("PATH", os.defpath), Path(self._shim_root.name) / "bin"
            )
        return self._path

    @contextmanager
    def around(self, item: pytest.Item) -> Iterator[None]:
        if not is_fast(item):
            yield
            return
        saved_path = os.environ.get("PATH")
        connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

        def refuse(address: Any) -> None:
            if isinstance(address, tuple) and len(address) >= 2 and address[1] in GUARDED_PORTS:
                raise ConnectionRefusedError(
                    f"{item.nodeid} is in the fast tier but connects to port {address[1]} "
                    f"(Redis/PostgreSQL): use the fixture that starts one, or mark it "
                    f"@pytest.mark.services"
                )

        def guarded_connect(sock: socket.socket, address: Any) -> None:
            refuse(address)
            connect(sock, address)

        def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
            refuse(address)
            return connect_ex(sock, address)

        os.environ["PATH"] = self.guarded_path()
        socket.socket.connect = guarded_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
        try:
            yield
        finally:
            socket.socket.connect, socket.socket.connect_ex = connect, connect_ex  # type: ignore[method-assign]
            if saved_path is None:
                os.environ.pop("PATH", None)
            else:
                os.environ["PATH"] = saved_path
