"""Fixtures every test folder may use: a real redis-server, the Stripe stub, the tiny model and
short generated songs (the helpers behind them are in ``tests/support``); and the test tiers
(``tests/support/tiers.py``): every test is marked by what its fixtures need, and a test of the
fast tier runs with the service and apt programs out of reach.

``redis_server`` starts a real ``redis-server`` on a free loopback port in the test's own temporary
directory, with the append-only file on (``appendfsync always``, as in production), and can be
stopped — gently or with SIGKILL — and started again on the same port and data, to test what
survives a Redis restart.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from testbed.redis_server import RedisServer
from testbed.workers import ABUSE_HMAC_SECRET, export_tiny_model
from tests.support.catalogues import compile_stale
from tests.support.stripe_stub import StripeStub, running_stripe_stub
from tests.support.tiers import FastTierGuard, mark_by_needs

SAMPLE_RATE = 44_100
# The bots and the payments service the tests start as processes refuse to start without it.
os.environ.setdefault("ABUSE_HMAC_SECRET", ABUSE_HMAC_SECRET)
_FAST_TIER_GUARD = FastTierGuard()


def pytest_sessionstart() -> None:
    compile_stale()  # the translations the tests speak (scripts/translations.sh compile)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by the markers added here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_by_needs(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _FAST_TIER_GUARD.around(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _FAST_TIER_GUARD.around(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    with _FAST_TIER_GUARD.around(item):
        return (yield)


def pytest_sessionfinish() -> None:
    _FAST_TIER_GUARD.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop(kill=True)


@pytest.fixture
async def stripe_stub() -> AsyncIterator[StripeStub]:
    """api.stripe.com on loopback; point the SDK at ``stripe_stub.url``."""
    async with running_stripe_stub() as stub:
        yield stub


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real exported checkpoint of the engine's U-Net, narrow and untrained: the pipeline
    needs a model that loads and runs like the shipped one, not one that separates well."""
    return export_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pt")


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
    return np.stack([voice * 0.8 + bass + hits, voice * 0.6 + bass * 0.9 + hits], axis=1).astype(np.float32)


def e_minor_at_120(seconds: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """A stereo (samples, 2) song of known key and tempo: clicks every half second (120 BPM)
    over an E minor chord (E, G, B and their octaves)."""
    t = np.arange(int(seconds * sr)) / sr
    pad = sum(np.sin(2 * np.pi * 440 * 2 ** ((n - 69) / 12) * t) for n in (40, 52, 55, 59, 64))
    clicks = np.zeros_like(t)
    window = np.hanning(300)
    for start in np.arange(0.0, seconds - 0.01, 0.5):
        i = int(start * sr)
        clicks[i : i + window.size] = window[: clicks.size - i]
    mono = 0.05 * pad + 0.6 * clicks
    return np.stack([mono, mono], axis=1).astype(np.float32)


@pytest.fixture
def make_song(tmp_path: Path) -> Callable[..., Path]:
    """``make_song(seconds=2.0, seed=0, name=None)`` writes a short 16-bit WAV and returns it."""

    def make(seconds: float = 2.0, seed: int = 0, name: str | None = None) -> Path:
        path = tmp_path / "songs" / (name or f"song-{seed}-{seconds:g}s.wav")
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, tone_song(seconds, seed), SAMPLE_RATE, subtype="PCM_16")
        return path

    return make
