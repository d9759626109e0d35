"""Figures as people read them: lengths of time and file sizes, in words of the catalogue."""

from __future__ import annotations

from texts.translation import _, ngettext


def spoken_duration(seconds: int) -> str:
    """Whole seconds in words a person reads at a glance: "20 minutes 10 seconds", "30 seconds",
    "1 hour", "10 hours" (zero parts left out; "0 seconds" only for zero)."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(ngettext("{count} hour", "{count} hours", hours).format(count=hours))
    if minutes:
        parts.append(ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes))
    if secs or not parts:
        parts.append(ngettext("{count} second", "{count} seconds", secs).format(count=secs))
    return " ".join(parts)


def megabytes(size_bytes: float) -> str:
    """Sizes as people read them: "26 MB", "0.3 MB", or "40 KB" for tiny limits."""
    if size_bytes < 1e5:
        return _("{size} KB").format(size=f"{size_bytes / 1e3:.0f}")
    size = f"{size_bytes / 1e6:.0f}" if size_bytes >= 10e6 else f"{size_bytes / 1e6:.1f}"
    return _("{size} MB").format(size=size)


def whole_megabytes(size_bytes: float) -> str:
    """A size in whole megabytes: "26 MB" (the engine's own refusals say it so)."""
    return _("{size} MB").format(size=f"{size_bytes / 1e6:.0f}")
