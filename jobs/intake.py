"""The checks every way a song comes in shares, before anything is queued: the declared size
first, the file's own size and ``engine.audio.probe`` after, each refusal a :class:`Rejected`
carrying the catalogue's friendly words (and the code and parameters they come from).

Two doors use them: a file sent in a chat (``bots.core.intake``, downloaded from the platform)
and a file sent through an upload link (``web.uploads``, streamed from the browser). One way to
refuse, so the same file gets the same words through either. Each upload lives in a private
directory of its own (:func:`open_workdir`: two people sending ``song.mp3`` at once never share
a path), removed with everything in it when the song is queued or refused.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.audio import AudioInfo, probe
from engine.errors import AudioError, TooLargeError
from service.limits import MAX_DURATION_S, MAX_FILE_BYTES
from texts import chat as messages
from texts import text_of


class Rejected(Exception):
    """The upload can't be taken; ``user_message`` says why, kindly (the catalogue's words for
    ``code`` and ``params``)."""

    def __init__(self, user_message: str, code: str, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(code)
        self.user_message = user_message
        self.code = code
        self.params: Mapping[str, Any] = params or {}


@dataclass
class Received:
    """A stored, probed upload in its own directory; call :meth:`discard` when done."""

    path: Path
    info: AudioInfo
    workdir: Path

    def discard(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def too_large(size: int, max_bytes: int) -> Rejected:
    """Over the service's own largest file (``MAX_FILE_BYTES``): the engine's words for it."""
    error = TooLargeError(size, max_bytes)
    return Rejected(text_of(error), error.code, error.params)


def check_declared_size(
    size: int | None, download_limit: int | None = None, max_bytes: int = MAX_FILE_BYTES
) -> None:
    """Refuse a file by the size it declares, before a byte of it is fetched: over the door's
    own limit (``download_limit``: a chat platform's, None where only ours applies) but within
    ours, "too big to download here"; over ours, too large anywhere."""
    limit = max_bytes if download_limit is None else min(download_limit, max_bytes)
    if size is None or size <= limit:
        return
    if download_limit is not None and size <= max_bytes:
        raise Rejected(messages.too_big_to_download(size, download_limit), "too_big")
    raise too_large(size, limit)


def open_workdir(spool_dir: Path) -> Path:
    """A new private directory under ``spool_dir`` for one upload."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="upload-", dir=spool_dir))


async def probe_received(
    path: Path,
    workdir: Path,
    max_duration_s: float = MAX_DURATION_S,
    max_bytes: int = MAX_FILE_BYTES,
) -> Received:
    """``engine.audio.probe`` the file in a thread (text files, silent streams, corrupt headers
    and 2-hour recordings are refused in milliseconds); its directory is removed if refused."""
    try:
        info = await asyncio.to_thread(probe, path, max_duration_s, max_bytes)
    except AudioError as err:
        shutil.rmtree(workdir, ignore_errors=True)
        raise Rejected(text_of(err), err.code, err.params) from err
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return Received(path=path, info=info, workdir=workdir)
