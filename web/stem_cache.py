"""Local copies of stems kept in S3, so the web server can stream them to the page's mixer.

Where storage is S3 the page's players are redirected to presigned URLs, but the mixer reads
its audio through Web Audio, which may only read audio from our own origin, and cuts segments out
of a stem by seeking (:mod:`web.stem_segments`). So the web server fetches a stem once, on the
mixer's first request, into this cache and serves segments from the copy.

Invariants: a copy appears only whole (downloaded beside, then renamed), so a reader never sees
half a file; a copy is named by its storage key, which names one job's one output and never
changes content; the cache holds at most ``max_bytes`` (least recently used copies go first) and
everything in it can be fetched again, so deleting it at any time loses nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

STEM_CACHE_MAX_BYTES = 4 * 1024**3  # a 20-minute WAV stem is ~210 MB: about twenty songs' stems
STEM_CACHE_DIR = Path(tempfile.gettempdir()) / "vocal-remover-stems"

# (storage key, destination) → the destination, written; raises when the object is gone.
Fetch = Callable[[str, Path], Path]


class StemCache:
    def __init__(
        self, fetch: Fetch, root: Path = STEM_CACHE_DIR, max_bytes: int = STEM_CACHE_MAX_BYTES
    ) -> None:
        self.fetch = fetch
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()  # one download of a key at a time; others wait for it

    def path(self, key: str) -> Path:
        """The local copy of ``key``, fetched first if the cache lacks it."""
        name = hashlib.sha256(key.encode()).hexdigest()[:32] + PurePosixPath(key).suffix.lower()
        target = self.root / name
        with self._lock:
            if target.is_file():
                os.utime(target)  # recently used
                return target
            self.root.mkdir(parents=True, exist_ok=True)
            partial = self.root / f".{name}.{os.getpid()}.part"
            try:
                self.fetch(key, partial)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
            self._trim(keep=target)
            return target

    def _trim(self, keep: Path) -> None:
        copies = sorted(
            (p for p in self.root.iterdir() if p.is_file() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
        )
        total = sum(p.stat().st_size for p in copies)
        for old in copies:
            if total <= self.max_bytes:
                break
            if old != keep:
                total -= old.stat().st_size
                old.unlink(missing_ok=True)
                log.info("stem cache: dropped %s", old.name)
