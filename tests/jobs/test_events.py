"""Events reach the bots through a consumer group: a restarted bot misses nothing."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from jobs import EventConsumer, EventType, JobEvent
from jobs.events import publish


def _event(n: int, type_: EventType = EventType.DONE) -> JobEvent:
    return JobEvent(
        type=type_,
        job_id=f"job{n}",
        platform="telegram",
        user_id="u",
        chat_id="c",
        kind="preview",
        outputs={"vocals": f"results/job{n}/vocals.mp3"},
    )


async def test_a_restarted_bot_gets_what_it_missed_and_what_it_did_not_finish(
    redis_server,
) -> None:
    sync = redis_server.client()
    publish(sync, _event(1), maxlen=1000)  # published before any bot ever ran
    connection = aioredis.Redis.from_url(redis_server.url)
    bot = EventConsumer(connection, "telegram", consumer="tg-1", block_ms=100)
    first = await bot.read()
    assert [e.job_id for e in first] == ["job1"] and first[0].outputs["vocals"].endswith(".mp3")
    publish(sync, _event(2), maxlen=1000)
    second = await bot.read()
    assert [e.job_id for e in second] == ["job2"]
    await bot.ack(first[0])  # job2 is being handled when the bot crashes: never acked

    publish(sync, _event(3), maxlen=1000)  # while the bot is down
    restarted = EventConsumer(connection, "telegram", consumer="tg-1", block_ms=100)
    assert [e.job_id for e in await restarted.read()] == ["job2"]  # unfinished first
    assert [e.job_id for e in await restarted.read()] == ["job3"]
    assert await restarted.read(block_ms=50) == []
    await connection.aclose()


async def test_run_acks_handled_events_and_hands_failed_ones_out_again(redis_server) -> None:
    sync = redis_server.client()
    for n in range(3):
        publish(sync, _event(n, EventType.PROGRESS if n == 0 else EventType.DONE), maxlen=1000)
    connection = aioredis.Redis.from_url(redis_server.url)
    seen: list[str] = []
    stop = asyncio.Event()
    attempts = {"job1": 0}

    async def handle(event: JobEvent) -> None:
        seen.append(event.job_id)
        if event.job_id == "job1" and attempts["job1"] == 0:
            attempts["job1"] += 1
            raise RuntimeError("chat API down")  # left pending, handed out again
        if seen.count("job1") == 2:
            stop.set()

    consumer = EventConsumer(connection, "telegram", consumer="tg-a", claim_idle_ms=200, block_ms=50)
    await asyncio.wait_for(consumer.run(handle, stop), timeout=10)
    assert seen[:3] == ["job0", "job1", "job2"] and seen.count("job1") == 2
    pending = await connection.xpending("vr:events:telegram", "bots")
    assert pending["pending"] == 0
    # Another replica's consumer takes over events a silent consumer left pending.
    publish(sync, _event(9), maxlen=1000)
    silent = EventConsumer(connection, "telegram", consumer="tg-b", block_ms=50)
    assert [e.job_id for e in await silent.read()] == ["job9"]
    await asyncio.sleep(0.25)
    other = EventConsumer(connection, "telegram", consumer="tg-c", claim_idle_ms=200, block_ms=50)
    assert [e.job_id for e in await other.read()] == ["job9"]
    await connection.aclose()


def _job_event(job: str, n: int, type_: EventType = EventType.PROGRESS) -> JobEvent:
    return JobEvent(
        type=type_,
        job_id=job,
        platform="telegram",
        user_id="u",
        chat_id="c",
        kind="full",
        progress=n,
        order_id=f"order-{job}",
    )


async def test_run_handles_jobs_at_once_each_job_in_order_and_within_the_cap(
    redis_server,
) -> None:
    """One slow delivery must not hold up everyone else's events (a handler for job A waits
    until job B's event was handled: handled one at a time, this never finishes)."""
    sync = redis_server.client()
    publish(sync, _job_event("A", 1), maxlen=1000)
    publish(sync, _job_event("A", 2, EventType.DONE), maxlen=1000)
    publish(sync, _job_event("B", 1), maxlen=1000)
    for n in range(4):
        publish(sync, _job_event(f"C{n}", 1), maxlen=1000)
    connection = aioredis.Redis.from_url(redis_server.url)
    b_done = asyncio.Event()
    handled: list[tuple[str, int]] = []
    running, most = 0, 0
    stop = asyncio.Event()

    async def handle(event: JobEvent) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            if (event.job_id, event.progress) == ("A", 1):
                await asyncio.wait_for(b_done.wait(), 5)  # a long upload for A
            else:
                await asyncio.sleep(0.05)
            handled.append((event.job_id, event.progress))
            if event.job_id == "B":
                b_done.set()
            if len(handled) == 7:
                stop.set()
        finally:
            running -= 1

    consumer = EventConsumer(connection, "telegram", consumer="tg-par", block_ms=50, concurrency=3)
    await asyncio.wait_for(consumer.run(handle, stop), timeout=10)
    assert handled.index(("B", 1)) < handled.index(("A", 1))  # B did not wait for A
    assert handled.index(("A", 1)) < handled.index(("A", 2))  # A's events in stream order
    assert most == 3  # as many at once as allowed, never more
    pending = await connection.xpending("vr:events:telegram", "bots")
    assert pending["pending"] == 0  # each acknowledged once handled
    await connection.aclose()


async def test_a_long_handler_keeps_its_event_from_other_replicas(redis_server) -> None:
    sync = redis_server.client()
    publish(sync, _job_event("slow", 1, EventType.DONE), maxlen=1000)
    connection = aioredis.Redis.from_url(redis_server.url)
    stop = asyncio.Event()
    other = EventConsumer(connection, "telegram", consumer="tg-other", claim_idle_ms=150, block_ms=20)
    taken_over: list[JobEvent] = []

    async def handle(event: JobEvent) -> None:
        # A 50 MB upload: several claim periods long. Meanwhile another replica keeps looking.
        for _ in range(8):
            await asyncio.sleep(0.1)
            taken_over.extend(await other.read(block_ms=10))
        stop.set()

    consumer = EventConsumer(connection, "telegram", consumer="tg-busy", claim_idle_ms=150, block_ms=20)
    await asyncio.wait_for(consumer.run(handle, stop), timeout=10)
    assert taken_over == []
    assert (await connection.xpending("vr:events:telegram", "bots"))["pending"] == 0
    await connection.aclose()


async def test_an_event_that_keeps_failing_is_given_up_dead_lettered_and_acknowledged(
    redis_server,
) -> None:
    sync = redis_server.client()
    publish(sync, _job_event("blocked", 100, EventType.DONE), maxlen=1000)
    publish(sync, _job_event("fine", 1), maxlen=1000)
    connection = aioredis.Redis.from_url(redis_server.url)
    attempts: list[str] = []
    given_up: list[tuple[str, str]] = []
    give_up_calls = 0
    stop = asyncio.Event()

    async def handle(event: JobEvent) -> None:
        attempts.append(event.job_id)
        if event.job_id == "blocked":
            raise PermissionError("Forbidden: bot was blocked by the user")

    async def give_up(event: JobEvent, error: BaseException | None) -> None:
        nonlocal give_up_calls
        give_up_calls += 1
        given_up.append((event.job_id, repr(error)))
        if give_up_calls == 1:
            raise ConnectionError("payments store down")  # kept pending: tried again
        stop.set()

    consumer = EventConsumer(
        connection, "telegram", consumer="tg-dl", claim_idle_ms=100, block_ms=20, max_deliveries=3
    )
    await asyncio.wait_for(consumer.run(handle, stop, give_up), timeout=10)
    # Three deliveries, then the hook; its failure kept the event, and the next delivery went
    # straight to the hook again (the handler had had its tries).
    assert attempts.count("blocked") == 3 and attempts.count("fine") == 1
    assert given_up == [
        ("blocked", "PermissionError('Forbidden: bot was blocked by the user')"),
        ("blocked", "None"),
    ]
    assert (await connection.xpending("vr:events:telegram", "bots"))["pending"] == 0
    (dead,) = await connection.xrange("vr:events:telegram:dead")
    fields = dead[1]
    assert JobEvent.from_fields(dead[0], fields).job_id == "blocked"
    assert int(fields[b"deliveries"]) == 4 and b"no answer" in fields[b"error"]
    await connection.aclose()
