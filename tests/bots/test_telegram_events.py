"""The bot under strain: chats that change under it, people who block it, bursts of uploads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import payments
from bots.core.context import MAX_CONCURRENT_INTAKES, Context
from jobs import EventType, JobEvent, keys
from jobs.analysis import ANALYSIS_KIND
from jobs.retention import pinned
from payments import OrderState
from tests.bots.conftest import PRICE_STARS, Harness

# Telegram cancels a payment whose pre-checkout query is not answered within 10 s.
PRE_CHECKOUT_DEADLINE_S = 10.0


def _pending(bot: Harness) -> int:
    """Events handed to the bot and not acknowledged yet."""
    return int(bot.queue.connection.xpending(keys.events("telegram"), "bots")["pending"])


async def test_a_deleted_status_message_is_replaced_by_a_new_one(
    bot: Harness, start_worker: Callable, media: dict[str, Path], wait_until
) -> None:
    api, user = bot.api, bot.user(601)
    api.send_media(user, media["song"], "audio")
    await api.wait_for_text(user.id, "Got it — separating the preview")
    (status,) = [c for c in api.calls_to(user.id, "sendMessage") if "checking" in c.params["text"]]
    api.delete_message(user.id, status.result["message_id"])  # the person tidies up the chat

    start_worker()
    await bot.preview(user)
    # The progress (or "ready") that could not be edited in came as a new message, and no event
    # was left failing in the stream.
    await api.wait_for_text(user.id, "Your preview is ready")
    later = [
        c
        for c in api.calls_to(user.id, "sendMessage")
        if c.result["message_id"] > status.result["message_id"]
    ]
    assert any(
        "Separating the preview" in c.params["text"] or "preview is ready" in c.params["text"] for c in later
    )
    await wait_until(lambda: _pending(bot) == 0, what="events handled")


async def test_stems_for_someone_who_blocked_the_bot_are_refunded_not_retried_forever(
    bot: Harness, worker: object, media: dict[str, Path], wait_until
) -> None:
    bot.services.events.claim_idle_ms = 300  # retries come quickly in a test
    bot.services.events.max_deliveries = 2
    api, user = bot.api, bot.user(602)
    api.send_media(user, media["song2"], "audio")
    _, _, photo = await bot.preview(user)
    invoice = await bot.buy(user, photo)
    assert await bot.pay_invoice(user, invoice, charge_id="stars-blocked")
    await api.wait_for_text(user.id, "Payment received")
    api.block(user)  # before the stems are ready

    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
    await wait_until(
        lambda: bot.pay.ledger.get_order(order.id).state is OrderState.REFUNDED,
        timeout=60,
        what="the undeliverable order refunded",
    )
    refunds = [c for c in api.calls if c.method == "refundStarPayment"]
    assert [c.params["telegram_payment_charge_id"] for c in refunds] == ["stars-blocked"]
    full_job = bot.pay.ledger.get_order(order.id).fulfil_job_id
    await wait_until(lambda: _pending(bot) == 0, what="nothing left pending")
    # Its events (progress, then the stems) went to the dead-letter stream for operators, and
    # out of the retry loop.
    dead = [
        JobEvent.from_fields(sid, raw)
        for sid, raw in bot.queue.connection.xrange(keys.dead_events("telegram"))
    ]
    # (A key-and-tempo note, kind "analysis", that arrives after the block is dead-lettered too,
    # the preview's or the stems'.)
    dead = [e for e in dead if e.kind != ANALYSIS_KIND]
    assert [e.order_id for e in dead if e.type is EventType.DONE] == [order.id]
    assert {e.job_id for e in dead} == {full_job}
    # The stems are no longer kept for a delivery that will never happen.
    assert not any(order.id in orders for orders in pinned(bot.queue.connection).values())
    sent = [c for c in api.calls_to(user.id, "sendAudio") if isinstance(c.result, dict)]
    assert len(sent) == 2  # the preview; the stems never got through


async def test_pre_checkout_is_answered_while_a_burst_of_uploads_is_being_decoded(
    bot: Harness, media: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uploads decode on the bot's own audio threads: a burst of them (here held in the middle
    of decoding) must not leave the quick calls — a pre-checkout answer has a 10 s deadline —
    waiting for a thread."""
    api, buyer = bot.api, bot.user(610)
    # A song the buyer previewed earlier, and the invoice for it.
    preview = bot.queue.submit(str(buyer.id), "telegram", str(buyer.id), media["song"])
    order = bot.pay.ledger.create_order(
        bot.pay.users.get_or_create("telegram", buyer.id), preview.content_hash, preview.id
    )
    payload = payments.invoice_payload(order)

    # asyncio's default pool, as small as on a small machine (its size follows the CPU count).
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(3))
    gate, inside = threading.Event(), []
    submit = bot.queue.submit

    def slow_submit(*args, **kwargs):  # a long song being decoded, held until we say so
        inside.append(args)
        gate.wait(60)
        return submit(*args, **kwargs)

    monkeypatch.setattr(bot.queue, "submit", slow_submit)
    handed: list[tuple] = []  # uploads handed to the audio pool (running or waiting there)
    audio_work = Context.audio_work

    async def counting_audio_work(self: Context, fn, *args, **kwargs):
        if fn is slow_submit:
            handed.append(args)  # no await before the pool gets it: seen here = queued there
        return await audio_work(self, fn, *args, **kwargs)

    monkeypatch.setattr(Context, "audio_work", counting_audio_work)
    senders = [bot.user(620 + n) for n in range(6)]
    try:
        for sender in senders:
            api.send_media(sender, media["song2"], "audio")
        for sender in senders:
            await api.wait_for_text(sender.id, "checking your song")
        await api.wait_for(lambda: len(inside) >= 2, what="uploads decoding")
        # The rest of the burst piles up behind them: every upload let through intake at once
        # waits for an audio thread.
        await api.wait_for(
            lambda: len(handed) >= min(len(senders), MAX_CONCURRENT_INTAKES),
            what="the burst waiting for audio threads",
        )

        ok, why = await asyncio.wait_for(
            bot.pre_checkout(buyer, payload, PRICE_STARS), PRE_CHECKOUT_DEADLINE_S - 2
        )
        assert ok, why
        assert not gate.is_set() and len(inside) <= 2  # still decoding, two at a time
    finally:
        gate.set()
    for sender in senders:  # and the burst itself goes through
        await api.wait_for_text(sender.id, "Got it — separating the preview")
