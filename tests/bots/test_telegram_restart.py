"""A bot that stops and starts again loses nothing: finished jobs and paid orders still arrive."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from jobs import JobStatus, keys
from payments import OrderState
from tests.bots.conftest import PRICE_STARS, Harness


async def test_results_and_paid_orders_survive_a_bot_restart(
    bot: Harness, start_worker: Callable, media: dict[str, Path], wait_until
) -> None:
    api, user = bot.api, bot.user(401)
    api.send_media(user, media["song"], "audio", title="Night Song")
    await api.wait_for_text(user.id, "Got it — separating the preview")
    (job,) = bot.queue.active_jobs("telegram", user.id)

    # The bot goes down; meanwhile a worker separates the song and announces it.
    await bot.stop()
    start_worker()
    await wait_until(lambda: bot.queue.get(job.id).status is JobStatus.DONE, 60, "preview job")
    assert not api.calls_to(user.id, "sendAudio")
    await bot.start()
    instrumental, _, photo = await bot.preview(user)
    assert instrumental.params["title"] == "Night Song (instrumental preview)"

    # The bot dies again right after Telegram's payment was recorded, before the full job was
    # started. At start-up, recovery starts it and the stems arrive.
    invoice = await bot.buy(user, photo)
    await bot.stop()
    result = bot.services.stars.record_payment(
        invoice.params["payload"], "XTR", PRICE_STARS, "stars-restart", None
    )
    assert result.granted
    await bot.start()
    stems = await api.wait_for_call(user.id, "sendAudio", count=4, timeout=90)
    assert [c.params["title"] for c in stems[2:]] == ["Night Song (vocals)", "Night Song (instrumental)"]
    await wait_until(
        lambda: bot.pay.ledger.get_order(result.order.id).state is OrderState.DELIVERED,
        what="order delivered",
    )
    # Each file was sent once, however many times the bot started.
    assert len(api.calls_to(user.id, "sendPhoto")) == 1
    assert len(api.calls_to(user.id, "sendAudio")) == 4


async def test_a_paid_order_whose_job_never_started_is_started_by_the_periodic_recovery(
    bot: Harness, worker: object, media: dict[str, Path], wait_until
) -> None:
    api, user = bot.api, bot.user(402)
    api.send_media(user, media["song2"], "audio", title="Late Song")
    _, _, photo = await bot.preview(user)
    invoice = await bot.buy(user, photo)
    # The payment is in the ledger but the job was never started (the bot's handler died, or
    # the queue was down). Without a restart, the next recovery round starts it.
    await bot.stop()
    bot.recovery_interval_s = 0.5
    await bot.start()
    result = bot.services.stars.record_payment(
        invoice.params["payload"], "XTR", PRICE_STARS, "stars-late", None
    )
    assert result.granted
    stems = await api.wait_for_call(user.id, "sendAudio", count=4, timeout=90)
    assert stems[3].params["title"] == "Late Song (instrumental)"
    await wait_until(
        lambda: bot.pay.ledger.get_order(result.order.id).state is OrderState.DELIVERED,
        what="order delivered",
    )


async def test_a_paid_job_whose_done_event_the_stream_trimmed_is_still_delivered(
    bot: Harness, start_worker: Callable, media: dict[str, Path], wait_until
) -> None:
    """Issue 21, defect 5: ``XADD MAXLEN ~`` also trims entries the bots' group never read; the
    periodic recovery finds the paid order's finished job and hands its end over again."""
    api, user = bot.api, bot.user(403)
    worker = start_worker()
    api.send_media(user, media["song2"], "audio", title="Trimmed Song")
    _, _, photo = await bot.preview(user)
    worker.stop()  # the paid job waits until the bot is down
    invoice = await bot.buy(user, photo)
    assert await bot.pay_invoice(user, invoice, charge_id="stars-trimmed")
    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
    job_id = await wait_until(
        lambda: (
            (o := bot.pay.ledger.get_order(order.id)).state is OrderState.PAID
            and bot.queue.get(o.fulfil_job_id or "")
            and o.fulfil_job_id
        ),
        what="the paid job submitted",
    )
    await bot.stop()
    start_worker()
    await wait_until(lambda: bot.queue.get(job_id).status is JobStatus.DONE, 90, "the paid job")
    stream = keys.events("telegram")
    bot.queue.connection.xtrim(stream, maxlen=0, approximate=False)  # what MAXLEN ~ may do
    assert bot.queue.connection.xlen(stream) == 0

    bot.recovery_interval_s = 0.5
    await bot.start()
    stems = await api.wait_for_call(user.id, "sendAudio", count=4, timeout=90)
    assert [c.params["title"] for c in stems[2:]] == [
        "Trimmed Song (vocals)",
        "Trimmed Song (instrumental)",
    ]
    await wait_until(
        lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED,
        what="order delivered",
    )
    await asyncio.sleep(1.5)  # more recovery rounds: nothing is sent twice
    assert len(api.calls_to(user.id, "sendAudio")) == 4
