"""The web server's copies of S3 stems: fetched once, whole or not at all, within a size bound."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from web.stem_cache import StemCache


def test_a_stem_is_fetched_once_and_served_from_the_copy(tmp_path: Path) -> None:
    fetched: list[str] = []

    def fetch(key: str, dest: Path) -> Path:
        fetched.append(key)
        dest.write_bytes(key.encode() * 10)
        return dest

    cache = StemCache(fetch, tmp_path / "cache", max_bytes=1000)
    first = cache.path("results/job1/vocals.mp3")
    assert first.suffix == ".mp3" and first.read_bytes() == b"results/job1/vocals.mp3" * 10
    assert cache.path("results/job1/vocals.mp3") == first
    assert fetched == ["results/job1/vocals.mp3"]
    assert cache.path("results/job2/vocals.mp3") != first  # one copy per key


def test_a_failed_fetch_leaves_nothing_and_the_oldest_copies_go_first(tmp_path: Path) -> None:
    def broken(key: str, dest: Path) -> Path:
        dest.write_bytes(b"half")
        raise OSError("connection reset")

    root = tmp_path / "cache"
    with pytest.raises(OSError):
        StemCache(broken, root).path("results/job/vocals.flac")
    assert list(root.iterdir()) == []

    def fetch(key: str, dest: Path) -> Path:
        dest.write_bytes(b"x" * 400)
        return dest

    cache = StemCache(fetch, root, max_bytes=1000)
    old = cache.path("a.wav")
    os.utime(old, (1, 1))  # the least recently used
    kept = cache.path("b.wav")
    newest = cache.path("c.wav")  # 1200 bytes > 1000: the oldest goes
    assert not old.exists() and kept.exists() and newest.exists()
