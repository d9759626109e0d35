"""Retention: songs and results are deleted after a while, paid results only after delivery.

Every stored object's modification time is its retention clock. The sweep deletes objects older
than ``RETENTION_HOURS`` unless they are *pinned* or *held*. A pin is an order id on a stored
object (several orders may pin one object: a cached result answers many people), written when an
order is paid for (the input, so a crashed job can re-run, and the results) and removed when that
order's results are delivered or it is refunded. When an object's last pin goes it is touched, so
the person still has a full retention period to download it again.

A hold keeps a delivered paid order's results until a given time: its signed download links and
its results page are valid for ``DOWNLOAD_TTL_S`` from delivery (payments' setting, 7 days),
which is usually longer than retention, and a link we handed out must not lead to a deleted file.
Holds only extend (several orders may hold one object); once a hold has passed, the object's own
clock (touched at delivery) decides, so it goes at the next sweep.

Run it from any machine that sees the storage: workers run it every ``SWEEP_INTERVAL_S`` (one at a
time, under a Redis lock), and ``python -m jobs.retention`` runs one sweep (for cron).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis

from jobs import keys, replies
from jobs.scripts import script
from jobs.settings import Settings
from jobs.storage import Storage, open_storage
from service import logs
from service.envconfig import load_or_exit

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 600
SWEEP_LOCK_KEY = f"{keys.PREFIX}:retention-lock"


@dataclass
class SweepReport:
    deleted: list[str] = field(default_factory=list)
    kept_pinned: list[str] = field(default_factory=list)
    kept_held: list[str] = field(default_factory=list)  # delivered, their links still valid
    kept_fresh: int = 0


# KEYS: the pinned-keys set, ARGV: order id, then storage keys. Returns the keys left unpinned.
_UNPIN_SCRIPT = script("""
local freed = {}
for i = 2, #ARGV do
    local pins = 'vr:pin:' .. ARGV[i]
    redis.call('SREM', pins, ARGV[1])
    if redis.call('SCARD', pins) == 0 then
        redis.call('SREM', KEYS[1], ARGV[i])
        freed[#freed + 1] = ARGV[i]
    end
end
return freed
""")
assert keys.pins("x") == "vr:pin:x"  # the script builds the same key


def pin(connection: redis.Redis, storage_keys: Iterable[str], order_id: str) -> None:
    """Keep these objects for this order until :func:`unpin` (paid, not yet delivered)."""
    names = [key for key in storage_keys if key]
    with connection.pipeline() as pipe:  # MULTI/EXEC: both sets change together
        for key in names:
            pipe.sadd(keys.pins(key), order_id)
            pipe.sadd(keys.PINNED, key)
        pipe.execute()


def unpin(connection: redis.Redis, storage: Storage, storage_keys: Iterable[str], order_id: str) -> list[str]:
    """Drop this order's pin; objects no other order pins expire a full period from now."""
    names = [key for key in storage_keys if key]
    if not names:
        return []
    freed = _UNPIN_SCRIPT(keys=[keys.PINNED], args=[order_id, *names], client=connection)
    released = [key.decode() if isinstance(key, bytes) else key for key in freed]
    for key in released:
        if storage.exists(key):
            storage.touch(key)
    return released


def hold(connection: redis.Redis, storage_keys: Iterable[str], until: float) -> None:
    """Keep these objects until ``until`` (epoch seconds), whatever their retention clock says;
    a later hold already on an object stays (``ZADD GT``)."""
    mapping = {key: until for key in storage_keys if key}
    if mapping:
        connection.zadd(keys.HELD, mapping, gt=True)


def held(connection: redis.Redis, now: float | None = None) -> dict[str, float]:
    """Every object held past ``now`` and until when."""
    now = time.time() if now is None else now
    rows = connection.zrangebyscore(keys.HELD, f"({now}", "+inf", withscores=True)
    return replies.scored(rows)


def pinned(connection: redis.Redis) -> dict[str, set[str]]:
    """Every pinned object and the orders pinning it."""
    result = {}
    for raw in connection.smembers(keys.PINNED):
        key = replies.text(raw)
        result[key] = {replies.text(o) for o in connection.smembers(keys.pins(key))}
    return result


def sweep(
    storage: Storage, connection: redis.Redis, retention_s: float, now: float | None = None
) -> SweepReport:
    """Delete every object older than ``retention_s`` that is neither pinned nor held."""
    now = time.time() if now is None else now
    keep = {replies.text(raw) for raw in connection.smembers(keys.PINNED)}
    kept_for_links = set(held(connection, now))
    connection.zremrangebyscore(keys.HELD, "-inf", now)  # holds that have passed
    report = SweepReport()
    for obj in list(storage.list()):
        if obj.key in keep:
            report.kept_pinned.append(obj.key)
        elif obj.key in kept_for_links:
            report.kept_held.append(obj.key)
        elif now - obj.modified_at > retention_s:
            storage.delete(obj.key)
            report.deleted.append(obj.key)
        else:
            report.kept_fresh += 1
    if report.deleted:
        log.info(
            "retention: deleted %d objects, %d pinned kept", len(report.deleted), len(report.kept_pinned)
        )
    return report


def sweep_if_due(storage: Storage, connection: redis.Redis, settings: Settings) -> bool:
    """Sweep unless another process swept within ``SWEEP_INTERVAL_S``; True if this one did."""
    if not connection.set(SWEEP_LOCK_KEY, "1", nx=True, ex=SWEEP_INTERVAL_S):
        return False
    sweep(storage, connection, settings.retention_s)
    return True


def main() -> None:
    settings, log_settings = load_or_exit("jobs.retention", [Settings, logs.LogSettings])
    logs.setup(log_settings, "retention", secrets=logs.secrets_of(settings))
    connection = redis.Redis.from_url(settings.redis_url)
    report = sweep(open_storage(settings), connection, settings.retention_s)
    print(
        f"deleted {len(report.deleted)}, kept {report.kept_fresh} fresh, "
        f"{len(report.kept_pinned)} pinned, {len(report.kept_held)} held for their links"
    )


if __name__ == "__main__":
    main()
