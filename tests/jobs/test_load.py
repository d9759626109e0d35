"""Many people at once: 40 jobs from 10 users on 2 workers."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable

import pytest

from jobs import EventType, JobQueue, JobStatus, Settings, UserLimitError

from .conftest import stream_events, wait_for

USERS = 10
JOBS_PER_USER = 4


def test_forty_jobs_from_ten_users_on_two_workers(
    settings: Settings, start_workers: Callable, make_song: Callable
) -> None:
    # All 40 are queued before any worker runs: admission (jobs/wait.py) is not what is tested.
    settings = settings.with_overrides(
        max_jobs_per_user=JOBS_PER_USER, user_concurrency=1, max_preview_wait_s=3600.0
    )
    queue = JobQueue(settings)
    submitted: dict[str, str] = {}
    for n in range(JOBS_PER_USER):
        for u in range(USERS):
            song = make_song(0.5, seed=u * 100 + n)
            record = queue.submit(f"user{u}", "telegram", f"chat{u}", song)
            submitted[record.id] = f"user{u}"
    with pytest.raises(UserLimitError):  # a fifth song while four are in flight
        queue.submit("user0", "telegram", "chat0", make_song(0.5, seed=999))
    workers = start_workers(2)

    def all_done() -> bool:
        records = [queue.get(i) for i in submitted]
        return all(r is not None and r.finished for r in records)

    wait_for(all_done, timeout=150, interval=0.25, what="40 jobs")
    records = [queue.get(i) for i in submitted]
    assert all(r.status is JobStatus.DONE and r.attempts == 1 for r in records)
    assert {r.worker_pid for r in records} == {w.pid for w in workers}  # both worked

    # The per-user concurrency limit held: one person's jobs never ran at the same time.
    runs = defaultdict(list)
    for r in records:
        runs[r.user_id].append((r.started_at, r.finished_at))
    for user, spans in runs.items():
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"{user} ran two jobs at once"

    # None lost, none duplicated: exactly one DONE event per job and one result folder each.
    done = Counter(e.job_id for e in stream_events(queue.connection, "telegram") if e.type is EventType.DONE)
    assert set(done) == set(submitted) and set(done.values()) == {1}
    folders = {o.key.split("/")[1] for o in queue.storage.list("results/")}
    assert folders == set(submitted)
    assert all(queue.active_jobs("telegram", f"user{u}") == [] for u in range(USERS))
