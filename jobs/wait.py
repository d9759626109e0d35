"""The expected wait of a free preview: what admission decides by, what a person is told, and
what a metrics collector exports (:func:`current`, with its inputs).

The figure, for a preview with ``ahead`` free jobs waiting before it::

    wait = ((ahead + running) / workers + 1) × preview_s + HANDOVER_S

* ``ahead``: RQ's preview queue (and, for a karaoke render, the render queue too) plus the
  previews admitted but not yet in that queue (the admission tickets below);
* ``running``: the workers busy with a job now (any job: a worker on a full song takes no
  preview until it is done), each counted as one preview's time still to run;
* ``workers``: the workers alive that take previews — RQ's registry of the preview queue, each
  counted only while its own key lives (a worker that died stops counting within its TTL). None
  alive is counted as one: workers restart within seconds under their supervisor, and a longer
  outage is the operators' alert, not a reason to refuse everyone; the bound still caps the line
  at what one worker clears in ``MAX_PREVIEW_WAIT_S``;
* ``preview_s``: the seconds of a worker one preview takes, measured by the workers themselves —
  each finished preview folds its duration into a moving average in Redis
  (:func:`record_preview`, weight :data:`EWMA_WEIGHT`, about the last ten previews). Until a
  worker has measured one (a fresh deployment) it is ``PREVIEW_ESTIMATE_S``;
* the ``+ 1`` is the song's own separation, and :data:`HANDOVER_S` the bot's hand-over of it:
  the figure says when the preview should be in the person's chat.
  The jobs ahead run ``workers`` at a time, and those running now are partly done, so the figure
  is an upper estimate while the measurement holds (a worker on a long full song is the
  exception: the status message's figure is told again as the line moves).

Invariant: the admission decision and taking the place are one step (:func:`admit`, one Lua
script): a place is a ticket in :data:`jobs.keys.ADMISSIONS`, counted as waiting from the moment
it is taken until the submitter has put the job in RQ's queue and drops it (:func:`release`), so
two uploads deciding at once can never both take the last place under the bound. A ticket whose
submitter died is dropped after :data:`ADMISSION_TICKET_S`. Paid jobs are never asked.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from rq import Queue
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from jobs import keys
from jobs.replies import text
from jobs.scripts import script
from jobs.settings import Settings

# After a worker has stored a preview: its event reaches the bot, which fetches the two stems
# and the waveform and sends them (about a second on a busy 2-core machine; bench/load.py).
HANDOVER_S = 2.0
# Each new measurement's share of the moving average: it follows a change (a busier machine, a
# GPU added) within about ten previews, and one slow outlier moves it by a fifth.
EWMA_WEIGHT = 0.2
# An admitted preview is in RQ's queue a moment later (its song stored first: seconds even for
# 200 MB on S3); a ticket older than this belongs to a submitter that died, and no longer counts.
ADMISSION_TICKET_S = 120.0

# KEYS: [1] admission tickets (zset: job id -> admitted at), [2] the measured preview time (hash:
#       seconds, samples), [3] RQ's set of the workers of the preview queue (their keys),
#       [4..] the queues whose jobs wait ahead (RQ lists)
# ARGV: [1] job id taking a place ('' : only estimate, take none), [2] now (s), [3] the bound
#       (s), [4] preview seconds assumed while none is measured, [5] ticket lifetime (s),
#       [6] the hand-over (s)
# Returns {admitted 1|0, ahead, workers alive, workers busy, preview s, samples, wait s}
# (fractional numbers as strings: Lua numbers become integers on the way out).
_ADMIT_SCRIPT = script("""
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[5]))
local ahead = redis.call('ZCARD', KEYS[1])
for i = 4, #KEYS do
    ahead = ahead + redis.call('LLEN', KEYS[i])
end
local workers, running = 0, 0
for _, worker_key in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if redis.call('EXISTS', worker_key) == 1 then
        workers = workers + 1
        if redis.call('HGET', worker_key, 'state') == 'busy' then
            running = running + 1
        end
    end
end
local preview_s = tonumber(redis.call('HGET', KEYS[2], 'seconds') or ARGV[4])
local samples = tonumber(redis.call('HGET', KEYS[2], 'samples') or '0')
local wait = ((ahead + running) / math.max(workers, 1) + 1) * preview_s + tonumber(ARGV[6])
local admitted = 0
if wait <= tonumber(ARGV[3]) then
    admitted = 1
    if ARGV[1] ~= '' then
        redis.call('ZADD', KEYS[1], now, ARGV[1])
    end
end
return {admitted, ahead, workers, running, tostring(preview_s), samples, tostring(wait)}
""")

# KEYS: [1] the measured preview time (hash). ARGV: [1] one preview's seconds, [2] the weight of
# a new measurement, [3] now (s). Returns the new average (string). Atomic, so two workers
# finishing at once both count.
_RECORD_SCRIPT = script("""
local old = tonumber(redis.call('HGET', KEYS[1], 'seconds'))
local new = tonumber(ARGV[1])
if old then
    new = old + tonumber(ARGV[2]) * (new - old)
end
redis.call('HSET', KEYS[1], 'seconds', tostring(new), 'updated_at', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'samples', 1)
return tostring(new)
""")


@dataclass(frozen=True)
class WaitEstimate:
    """The expected wait of a new free job now, and what it was worked out from."""

    ahead: int  # free jobs waiting before it (queued, or admitted and on their way in)
    workers: int  # workers alive that take previews (0 is counted as 1 in ``seconds``)
    running: int  # of those, how many are busy with a job now
    preview_s: float  # seconds of a worker per preview: the workers' moving average, or the prior
    samples: int  # previews measured so far (0: ``preview_s`` is ``PREVIEW_ESTIMATE_S``)
    seconds: float  # when a new one would be in its chat: :func:`expected_wait`
    admitted: bool  # whether ``seconds`` is within ``MAX_PREVIEW_WAIT_S``

    @property
    def measured(self) -> bool:
        return self.samples > 0

    def behind(self, ahead: int) -> float:
        """The expected wait of a preview already in line with ``ahead`` before it."""
        return expected_wait(ahead, self.running, self.workers, self.preview_s)


def expected_wait(ahead: int, running: int, workers: int, preview_s: float) -> float:
    """Seconds until a preview with ``ahead`` waiting before it is ready (the Lua script's
    formula, for a job already in line: its place in the queue is its ``ahead``)."""
    return ((ahead + running) / max(workers, 1) + 1) * preview_s + HANDOVER_S


def _admit(connection: redis.Redis, settings: Settings, queues: Sequence[Queue], job_id: str) -> WaitEstimate:
    preview = queues[0]
    raw = _ADMIT_SCRIPT(
        keys=[
            keys.ADMISSIONS,
            keys.PREVIEW_TIME,
            WORKERS_BY_QUEUE_KEY % preview.name,
            *(queue.key for queue in queues),
        ],
        args=[
            job_id,
            time.time(),
            settings.max_preview_wait_s,
            settings.preview_estimate_s,
            ADMISSION_TICKET_S,
            HANDOVER_S,
        ],
        client=connection,
    )
    admitted, ahead, workers, running, preview_s, samples, seconds = raw
    return WaitEstimate(
        ahead=int(ahead),
        workers=int(workers),
        running=int(running),
        preview_s=float(text(preview_s)),
        samples=int(samples),
        seconds=float(text(seconds)),
        admitted=bool(admitted),
    )


def current(connection: redis.Redis, settings: Settings, queues: Sequence[Queue]) -> WaitEstimate:
    """The expected wait of a free job sent now, behind the jobs of ``queues`` (the preview
    queue first; add the render queue for a karaoke render) — the figure a metrics collector
    exports. Takes no place."""
    return _admit(connection, settings, queues, "")


def admit(connection: redis.Redis, settings: Settings, queues: Sequence[Queue], job_id: str) -> WaitEstimate:
    """Decide and, if ``admitted``, take a place for ``job_id`` in one step (see the module's
    invariant). The caller enqueues the job and then calls :func:`release`, or calls it on
    failure."""
    return _admit(connection, settings, queues, job_id)


def release(connection: redis.Redis, job_id: str) -> None:
    """The admitted job is in RQ's queue now (or will never be): its ticket no longer counts."""
    connection.zrem(keys.ADMISSIONS, job_id)


def record_preview(connection: redis.Redis, seconds: float) -> float:
    """Fold one finished preview's worker time into the moving average; returns the new one."""
    raw = _RECORD_SCRIPT(
        keys=[keys.PREVIEW_TIME], args=[max(0.0, seconds), EWMA_WEIGHT, time.time()], client=connection
    )
    return float(text(raw))
