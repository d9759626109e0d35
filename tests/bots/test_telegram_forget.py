"""/forget on Telegram keeps what money and abuse limits need: a ban and today's free previews
survive it (issue 21, defect 7), and a Stars refund after it still reaches who paid, once
(defect 6). Real PTB against the fake Bot API, the real queue on redis-server, SQLite."""

from __future__ import annotations

from pathlib import Path

from bots import messages
from payments import OrderState, invoice_payload
from tests.bots.conftest import ADMIN_ID, PRICE_STARS, Harness


async def _forget(bot: Harness, user) -> None:
    bot.api.send_text(user, "/forget yes")
    await bot.api.wait_for_text(user.id, "I've deleted your data")
    assert bot.pay.users.get("telegram", user.id) is None


async def test_forget_yes_lifts_no_ban_and_resets_no_free_previews(
    bot: Harness, media: dict[str, Path]
) -> None:
    api, admin = bot.api, bot.user(ADMIN_ID)
    banned, thrifty = bot.user(731), bot.user(732)
    for person in (banned, thrifty):
        api.send_text(person, "/start")
        await api.wait_for_text(person.id, "I split a song")
    api.send_text(admin, "/ban 731 spam")
    await api.wait_for_text(admin.id, messages.banned(731))
    account = bot.pay.users.get("telegram", thrifty.id)
    limit = bot.pay.settings.free_previews_per_day
    for _ in range(limit):  # today's free previews, all used
        assert bot.pay.users.consume_preview(account).allowed

    for person in (banned, thrifty):
        await _forget(bot, person)
        api.send_media(person, media["song"], "audio")
    await api.wait_for_text(banned.id, messages.BANNED)
    await api.wait_for_text(thrifty.id, messages.quota_exhausted(limit))
    for person in (banned, thrifty):
        assert bot.queue.active_jobs("telegram", person.id) == []


async def test_a_stars_refund_after_forget_reaches_the_payer_once(
    bot: Harness, media: dict[str, Path], wait_until
) -> None:
    api, admin, person = bot.api, bot.user(ADMIN_ID), bot.user(733)
    # A preview waiting in line (no worker here) and its order, paid in Stars in the chat.
    preview = bot.queue.submit(str(person.id), "telegram", str(person.id), media["song"])
    account = bot.pay.users.get_or_create("telegram", person.id)
    order = bot.pay.ledger.create_order(account, preview.content_hash, preview.id)
    payload = invoice_payload(order)
    assert (await bot.pre_checkout(person, payload, PRICE_STARS))[0]
    api.successful_payment(person, payload, PRICE_STARS, "stars-forget-1")
    await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.PAID, what="paid")
    bot.pay.ledger.mark_delivered(order.id)  # the stems arrived
    await _forget(bot, person)

    api.send_text(admin, f"/refund {order.id}")
    await api.wait_for_text(admin.id, messages.admin_refund(order.id, "refunded"))
    (refund,) = [c for c in api.calls if c.method == "refundStarPayment"]
    assert int(refund.params["user_id"]) == person.id
    assert refund.params["telegram_payment_charge_id"] == "stars-forget-1"
    assert bot.pay.ledger.get_order(order.id).state is OrderState.REFUNDED
    assert await bot.pay.refunder.retry_pending() == []
