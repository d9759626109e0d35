"""Events reach the bots through a consumer group: a restarted bot misses nothing."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from jobs import EventConsumer, EventType, JobEvent
from jobs.events import publish


def _event(n: int, type_: EventType = EventType.DONE) -> JobEvent:
    return JobEvent(type=type_, job_id=f"job{n}", platform="telegram", user_id="u", chat_id="c",
                    kind="preview", outputs={"vocals": f"results/job{n}/vocals.mp3"})


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

    consumer = EventConsumer(connection, "telegram", consumer="tg-a", claim_idle_ms=200,
                             block_ms=50)
    await asyncio.wait_for(consumer.run(handle, stop), timeout=10)
    assert seen[:3] == ["job0", "job1", "job2"] and seen.count("job1") == 2
    pending = await connection.xpending("vr:events:telegram", "bots")
    assert pending["pending"] == 0
    # Another replica's consumer takes over events a silent consumer left pending.
    publish(sync, _event(9), maxlen=1000)
    silent = EventConsumer(connection, "telegram", consumer="tg-b", block_ms=50)
    assert [e.job_id for e in await silent.read()] == ["job9"]
    await asyncio.sleep(0.25)
    other = EventConsumer(connection, "telegram", consumer="tg-c", claim_idle_ms=200,
                          block_ms=50)
    assert [e.job_id for e in await other.read()] == ["job9"]
    await connection.aclose()
