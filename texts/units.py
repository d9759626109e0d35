"""Figures as people read them: lengths of time and file sizes, in words of the catalogue."""

from __future__ import annotations

import math

from texts.numbers import decimal, integer
from texts.translation import _, ngettext


def spoken_duration(seconds: int) -> str:
    """Whole seconds in words a person reads at a glance: "20 minutes 10 seconds", "30 seconds",
    "1 hour", "10 hours" (zero parts left out; "0 seconds" only for zero)."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(ngettext("{count} hour", "{count} hours", hours).format(count=integer(hours)))
    if minutes:
        parts.append(ngettext("{count} minute", "{count} minutes", minutes).format(count=integer(minutes)))
    if secs or not parts:
        parts.append(ngettext("{count} second", "{count} seconds", secs).format(count=integer(secs)))
    return " ".join(parts)


def wait_duration(seconds: float) -> str:
    """An expected wait in words, rounded up so that it reads as a promise kept: 5-second steps
    under a minute (5 seconds at least), quarter minutes above: "25 seconds", "2 minutes 15
    seconds" (half minutes told 61 s as 90 s: a third too long, bench/load.py)."""
    step = 5 if seconds < 60 else 15
    return spoken_duration(max(step, math.ceil(seconds / step) * step))


def megabytes(size_bytes: float) -> str:
    """Sizes as people read them: "26 MB", "0.3 MB", or "40 KB" for tiny limits."""
    if size_bytes < 1e5:
        return _("{size} KB").format(size=integer(round(size_bytes / 1e3)))
    size = integer(round(size_bytes / 1e6)) if size_bytes >= 10e6 else decimal(size_bytes / 1e6, 1)
    return _("{size} MB").format(size=size)


def whole_megabytes(size_bytes: float) -> str:
    """A size in whole megabytes: "26 MB" (the engine's own refusals say it so)."""
    return _("{size} MB").format(size=integer(round(size_bytes / 1e6)))
