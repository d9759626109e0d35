"""Lua scripts: built once at import, run on any connection, status lists from the one enum.

Each atomic step of the pipeline is one Lua script that lives beside the step (the per-user slot
in :mod:`jobs.line`, ending a job in :mod:`jobs.lifecycle`, unpinning in :mod:`jobs.retention`).
:func:`script` builds the client-side object once per process — its SHA is computed then — and a
step runs it with ``client=connection``, so no call re-registers it. The statuses a script
compares against are written into its source from :data:`jobs.records.FINISHED_STATUSES`, so
adding or renaming a status cannot leave a script testing a stale literal.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.commands.core import Script

from jobs.records import FINISHED_STATUSES, JobStatus


def lua_set(statuses: Iterable[JobStatus]) -> str:
    """A Lua table literal usable as a set: ``{['cancelled'] = true, ['done'] = true}``."""
    return "{" + ", ".join(f"['{status.value}'] = true" for status in sorted(statuses)) + "}"


# Prepend to a script, then test ``FINISHED[status]``.
FINISHED_LUA = f"local FINISHED = {lua_set(FINISHED_STATUSES)}\n"


def script(source: str) -> Script:
    """The script object for ``source``; call it as ``s(keys=..., args=..., client=conn)``.

    Bound to no client: the bytes are hashed here (no encoder needed), and redis-py loads the
    script into a server the first time that server answers NOSCRIPT."""
    # redis-py annotates the client as required, but Script handles None (unbound) as above.
    return Script(None, source.encode())  # type: ignore[arg-type]
