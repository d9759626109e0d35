"""Fit stems under a platform's upload limit: the chosen format, else FLAC, else MP3 320k.

Telegram bots may send files up to 50 MB (Discord's limit is lower). A 6-minute WAV stem is about
60 MB, the same stem as FLAC roughly half that, and MP3 at 320 kbps is 48 MB for the 20-minute
longest song we take — so the chain always ends under Telegram's limit. The same format is used for
every stem of one delivery so a person never gets a WAV vocal and an MP3 instrumental.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from engine.audio import decode, encode
from service.limits import OUTPUT_FORMATS

MAX_FILE_TITLE_CHARS = 60
# From largest to smallest file for the same audio.
FALLBACK_ORDER: tuple[str, ...] = ("wav", "flac", "mp3")
assert set(FALLBACK_ORDER) == set(OUTPUT_FORMATS)


class StemsTooLarge(Exception):
    """Even the smallest format is over the limit (cannot happen for songs within our length limit
    on Telegram; kept so a lower platform limit fails loudly instead of uploading and failing)."""


@dataclass(frozen=True)
class Fitted:
    """Files ready to send, in ``fmt``; ``fell_back`` says whether that differs from the wish."""

    files: list[Path]
    fmt: str
    wanted: str

    @property
    def fell_back(self) -> bool:
        return self.fmt != self.wanted


def file_name(title: str, part: str, fmt: str) -> str:
    """What a person's download is called: "<song title> (<part>).<fmt>", minus path-hostile
    characters (the title comes from the person's file)."""
    cleaned = "".join(c for c in title if c.isalnum() or c in " -_.,()&'").strip(" .")
    return f"{cleaned[:MAX_FILE_TITLE_CHARS] or 'song'} ({part}).{fmt}"


def candidate_formats(wanted: str) -> list[str]:
    """The wanted format and every smaller one after it."""
    if wanted not in FALLBACK_ORDER:
        raise ValueError(f"unknown format {wanted!r}")
    return list(FALLBACK_ORDER[FALLBACK_ORDER.index(wanted) :])


def _format_of(path: Path) -> str:
    return path.suffix.lstrip(".").lower()


def _transcode(source: Path, fmt: str, workdir: Path) -> Path:
    # Stems can be silent (an a-cappella has no instrumental), so silence is not an error here.
    audio = decode(source, allow_silence=True)
    return encode(audio, workdir / f"{source.stem}.{fmt}", fmt)


async def fit_for_upload(
    stems: Sequence[Path],
    wanted: str,
    limit_bytes: int,
    workdir: Path,
    executor: Executor | None = None,
) -> Fitted:
    """Return the stems in the first format of :func:`candidate_formats` in which all fit.

    Files already in a format are used as they are; others are transcoded from whichever given
    file is present, on ``executor`` (the bot's audio pool: seconds of CPU work each must neither
    block the event loop nor fill the pool that quick calls use; None: asyncio's default pool).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    loop = asyncio.get_running_loop()
    for fmt in candidate_formats(wanted):
        files: list[Path] = []
        for stem in stems:
            if _format_of(stem) == fmt:
                files.append(stem)
            else:
                work = functools.partial(_transcode, stem, fmt, workdir)
                files.append(await loop.run_in_executor(executor, work))
        if all(f.stat().st_size <= limit_bytes for f in files):
            return Fitted(files=files, fmt=fmt, wanted=wanted)
    raise StemsTooLarge(f"stems over {limit_bytes} bytes even as {FALLBACK_ORDER[-1]}")
