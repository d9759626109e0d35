"""Retention: songs and results are deleted after a while, paid results only after delivery.

Every stored object's modification time is its retention clock. The sweep deletes objects older
than ``RETENTION_HOURS`` unless they are *pinned*. Pins live in one Redis hash (storage key → order
id), written by the job pipeline when an order is paid for (the input, so a crashed job can re-run,
and the results) and removed when the results are delivered — at which point the objects are
touched, so the person still has a full retention period to download them again.

Run it from any machine that sees the storage: workers run it every ``SWEEP_INTERVAL_S`` (one at a
time, under a Redis lock), and ``python -m jobs.retention`` runs one sweep (for cron).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis

from jobs import keys
from jobs.settings import Settings
from jobs.storage import Storage, open_storage

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 600
SWEEP_LOCK_KEY = f"{keys.PREFIX}:retention-lock"


@dataclass
class SweepReport:
    deleted: list[str] = field(default_factory=list)
    kept_pinned: list[str] = field(default_factory=list)
    kept_fresh: int = 0


def pin(connection: redis.Redis, storage_keys: Iterable[str], order_id: str) -> None:
    """Keep these objects until :func:`unpin` (paid and not yet delivered)."""
    mapping = {key: order_id for key in storage_keys if key}
    if mapping:
        connection.hset(keys.PINNED, mapping=mapping)


def unpin(connection: redis.Redis, storage: Storage, storage_keys: Iterable[str]) -> None:
    """Let these objects expire again, a full retention period from now."""
    names = [key for key in storage_keys if key]
    if not names:
        return
    connection.hdel(keys.PINNED, *names)
    for key in names:
        if storage.exists(key):
            storage.touch(key)


def pinned(connection: redis.Redis) -> dict[str, str]:
    raw = connection.hgetall(keys.PINNED)
    return {k.decode(): v.decode() for k, v in raw.items()}


def sweep(
    storage: Storage, connection: redis.Redis, retention_s: float, now: float | None = None
) -> SweepReport:
    """Delete every unpinned object older than ``retention_s``."""
    now = time.time() if now is None else now
    keep = pinned(connection)
    report = SweepReport()
    for obj in list(storage.list()):
        if obj.key in keep:
            report.kept_pinned.append(obj.key)
        elif now - obj.modified_at > retention_s:
            storage.delete(obj.key)
            report.deleted.append(obj.key)
        else:
            report.kept_fresh += 1
    if report.deleted:
        log.info("retention: deleted %d objects, %d pinned kept", len(report.deleted),
                 len(report.kept_pinned))
    return report


def sweep_if_due(storage: Storage, connection: redis.Redis, settings: Settings) -> bool:
    """Sweep unless another process swept within ``SWEEP_INTERVAL_S``; True if this one did."""
    if not connection.set(SWEEP_LOCK_KEY, "1", nx=True, ex=SWEEP_INTERVAL_S):
        return False
    sweep(storage, connection, settings.retention_s)
    return True


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    connection = redis.Redis.from_url(settings.redis_url)
    report = sweep(open_storage(settings), connection, settings.retention_s)
    print(f"deleted {len(report.deleted)}, kept {report.kept_fresh} fresh, "
          f"{len(report.kept_pinned)} pinned")


if __name__ == "__main__":
    main()
