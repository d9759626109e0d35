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
from dataclasses import dataclass
from pathlib import Path

from bots import messages
from bots.core.ports import DownloadTooLarge, Upload
from engine.audio import AudioInfo, probe
from engine.errors import AudioError, TooLargeError
from jobs import safe_name
from service.limits import MAX_DURATION_S, MAX_FILE_BYTES


class Rejected(Exception):
    """The upload can't be taken; ``user_message`` says why, kindly."""

    def __init__(self, user_message: str, code: str) -> None:
        super().__init__(code)
        self.user_message = user_message
        self.code = code


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
        raise Rejected(TooLargeError(upload.size, limit).user_message, "too_large")
    spool_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="upload-", dir=spool_dir))
    try:
        try:
            # Names from users end up in paths: the pipeline's safe form of them.
            path = await upload.fetch(workdir / safe_name(upload.file_name, "upload"))
        except DownloadTooLarge as err:
            raise Rejected(messages.too_big_to_download(None, download_limit), "too_big") from err
        except Exception as err:  # the platform's errors differ; all mean "couldn't fetch"
            raise Rejected(messages.DOWNLOAD_FAILED, "download_failed") from err
        try:
            info = await asyncio.to_thread(probe, path, max_duration_s, max_bytes)
        except AudioError as err:
            raise Rejected(err.user_message, err.code) from err
        return Received(path=path, info=info, workdir=workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
