"""Take a file from a person in the chat: refuse what we can't use before spending time on it.

Order matters for cost: the declared size is checked before downloading (a 25 MB file on the
public Bot API cannot even be fetched), the download goes to a private per-upload directory, and
``engine.audio.probe`` rejects unusable files in milliseconds, before anything is queued. The
checks themselves are the ones every door shares (:mod:`jobs.intake`: an upload by link gets
the same words); this module adds only the platform's download.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bots.core.ports import DownloadTooLarge, Upload
from jobs import stored_name
from jobs.intake import Received, Rejected, check_declared_size, open_workdir, probe_received
from service.limits import MAX_DURATION_S, MAX_FILE_BYTES
from texts import chat as messages

__all__ = ["Received", "Rejected", "receive"]


async def receive(
    upload: Upload,
    download_limit: int | None,
    spool_dir: Path,
    max_duration_s: float = MAX_DURATION_S,
    max_bytes: int = MAX_FILE_BYTES,
) -> Received:
    """Check, download and probe ``upload``; raise :class:`Rejected` with the reason if unusable."""
    check_declared_size(upload.size, download_limit, max_bytes)
    workdir = open_workdir(spool_dir)
    try:
        # A person's file name never becomes a path (it would show in logs and errors).
        path = await upload.fetch(workdir / stored_name(upload.file_name))
    except DownloadTooLarge as err:
        shutil.rmtree(workdir, ignore_errors=True)
        raise Rejected(messages.too_big_to_download(None, download_limit), "too_big") from err
    except Exception as err:  # the platform's errors differ; all mean "couldn't fetch"
        shutil.rmtree(workdir, ignore_errors=True)
        raise Rejected(messages.DOWNLOAD_FAILED, "download_failed") from err
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return await probe_received(path, workdir, max_duration_s, max_bytes)
