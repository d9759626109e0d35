"""Fixtures every test folder may use: a real redis-server and tiny generated songs.

``redis_server`` starts a real ``redis-server`` on a free loopback port in the test's own temporary
directory, with the append-only file on (``appendfsync always``, as in production), and can be
stopped — gently or with SIGKILL — and started again on the same port and data, to test what
survives a Redis restart.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
import soundfile as sf

SAMPLE_RATE = 44_100
REDIS_START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process with its data directory; restartable on the same port."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.directory),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
                "--daemonize", "no",
                "--loglevel", "warning",
                "--logfile", str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + REDIS_START_TIMEOUT_S
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                pass
            if self.process.poll() is not None:
                log = (self.directory / "redis.log").read_text(errors="replace")
                raise RuntimeError(f"redis-server exited: {log[-1000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start in time")
            time.sleep(0.02)

    def stop(self, kill: bool = False) -> None:
        """Stop the server; ``kill=True`` is a crash (SIGKILL: no shutdown save)."""
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None

    def restart(self, kill: bool = True) -> None:
        self.stop(kill=kill)
        self.start()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop(kill=True)


def tone_song(seconds: float, seed: int = 0, sr: int = SAMPLE_RATE) -> np.ndarray:
    """A stereo (samples, 2) 'song' unique to ``seed``: a voice-like tone that comes in after a
    short intro, over a bass line and noise hits."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = (180 + 40 * rng.random()) * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voice = sum(np.sin(k * phase) / k for k in range(1, 6)) * 0.15 * (t > min(1.0, seconds / 3))
    bass = 0.2 * np.sin(2 * np.pi * (50 + 10 * rng.random()) * t)
    hits = (rng.random(t.size) - 0.5) * 0.2 * (np.sin(2 * np.pi * 2 * t) > 0.95)
    return np.stack([voice * 0.8 + bass + hits, voice * 0.6 + bass * 0.9 + hits], axis=1).astype(
        np.float32
    )


@pytest.fixture
def make_song(tmp_path: Path) -> Callable[..., Path]:
    """``make_song(seconds=2.0, seed=0, name=None)`` writes a short 16-bit WAV and returns it."""

    def make(seconds: float = 2.0, seed: int = 0, name: str | None = None) -> Path:
        path = tmp_path / "songs" / (name or f"song-{seed}-{seconds:g}s.wav")
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, tone_song(seconds, seed), SAMPLE_RATE, subtype="PCM_16")
        return path

    return make
