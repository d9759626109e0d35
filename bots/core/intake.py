"""Take a file from a person: refuse what we can't use before spending time on it.

Order matters for cost: the declared size is checked before downloading (a 25 MB file on the
public Bot API cannot even be fetched), the download goes to a private per-upload directory (two
people sending ``song.mp3`` at once never share a path), and ``engine.audio.probe`` rejects text
files, silent streams, corrupt headers and 2-hour recordings in milliseconds, before anything is
queued.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bots.core.ports import DownloadTooLarge, Upload
from engine.audio import AudioInfo, probe
from engine.errors import AudioError, TooLargeError
from jobs import stored_name
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
    """A downloaded, probed upload in its own directory; call :meth:`discard` when done."""

    path: Path
    info: AudioInfo
    workdir: Path

    def discard(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


async def receive(
    upload: Upload,
    download_limit: int | None,
    spool_dir: Path,
    max_duration_s: float = MAX_DURATION_S,
    max_bytes: int = MAX_FILE_BYTES,
) -> Received:
    """Check, download and probe ``upload``; raise :class:`Rejected` with the reason if unusable."""
    limit = max_bytes if download_limit is None else min(download_limit, max_bytes)
    if upload.size is not None and upload.size > limit:
        if download_limit is not None and upload.size <= max_bytes:
            raise Rejected(messages.too_big_to_download(upload.size, download_limit), "too_big")
        too_large = TooLargeError(upload.size, limit)
        raise Rejected(text_of(too_large), too_large.code, too_large.params)
    spool_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="upload-", dir=spool_dir))
    try:
        try:
            # A person's file name never becomes a path (it would show in logs and errors).
            path = await upload.fetch(workdir / stored_name(upload.file_name))
        except DownloadTooLarge as err:
            raise Rejected(messages.too_big_to_download(None, download_limit), "too_big") from err
        except Exception as err:  # the platform's errors differ; all mean "couldn't fetch"
            raise Rejected(messages.DOWNLOAD_FAILED, "download_failed") from err
        try:
            info = await asyncio.to_thread(probe, path, max_duration_s, max_bytes)
        except AudioError as err:
            raise Rejected(text_of(err), err.code, err.params) from err
        return Received(path=path, info=info, workdir=workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
