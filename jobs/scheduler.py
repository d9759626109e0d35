"""RQ's scheduler, made to recover promptly when the process holding its lock is gone.

RQ runs one scheduler per queue (it moves retries waiting out their backoff back onto the
queues). Which one is decided by a lock, ``rq:scheduler-lock:<queue>``, holding the scheduler's
name with a 61 s TTL that its holder refreshes every second. When the holder dies without
releasing it — its host crashed, or its worker and Redis were SIGKILLed together — the lock stays
until the TTL runs out; after a Redis restart from the append-only file it stays for its whole TTL
again. Every retry due meanwhile starts up to a minute late.

What tells a live holder from a dead one without clocks or TTLs: its Redis connection. Every
connection of a :class:`NamedScheduler` carries the client name ``rq-scheduler:<name>`` (set on
each (re)connect, so also after a Redis restart). A lock whose holder has no connection is taken
over: :func:`take_over_abandoned_locks` deletes it (only if it still names that holder), and the
caller's scheduler acquires it the usual way. A live scheduler that lost its connection for a
moment finds, at its next heartbeat, that its lock was taken over and stops scheduling that queue
(RQ's own handling), so there is never more than one for long.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import redis
from rq.scheduler import RQScheduler
from rq.scripts import release_lock

log = logging.getLogger(__name__)

CLIENT_NAME_PREFIX = "rq-scheduler:"


def client_name(scheduler_name: str) -> str:
    """The Redis client name of every connection of the scheduler called ``scheduler_name``."""
    return f"{CLIENT_NAME_PREFIX}{scheduler_name}"


class NamedScheduler(RQScheduler):
    """RQ's scheduler whose connections say whose they are (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read by RQScheduler.connection when it builds its pool (in the forked process too).
        self._pool_kwargs = {**self._pool_kwargs, "client_name": client_name(self.name)}


def take_over_abandoned_locks(connection: redis.Redis, queue_names: Iterable[str]) -> list[str]:
    """Delete the scheduler lock of each queue whose holder has no connection to Redis; returns
    the queues whose lock was freed (the caller's scheduler then acquires them)."""
    held: dict[str, str] = {}
    for queue in queue_names:
        holder = connection.get(RQScheduler.get_locking_key(queue))
        if holder is not None:
            held[queue] = holder.decode() if isinstance(holder, bytes) else str(holder)
    if not held:
        return []
    connected = {client.get("name", "") for client in connection.client_list()}
    freed = []
    for queue, holder in held.items():
        if client_name(holder) in connected:
            continue
        # Deletes only if the lock still names that holder (RQ's token-checked release script).
        if release_lock(connection, RQScheduler.get_locking_key(queue), holder):
            log.warning("scheduler lock for %s held by %s, which is gone: taken over", queue, holder)
            freed.append(queue)
    return freed
