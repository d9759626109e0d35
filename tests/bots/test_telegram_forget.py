"""/forget on Telegram keeps what money and abuse limits need: a ban and today's free previews
survive it (issue 21, defect 7), and a Stars refund after it still reaches who paid, once
(defect 6). Real PTB against the fake Bot API, the real queue on redis-server, SQLite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import redis

from payments import OrderState, invoice_payload
from testbed.workers import WorkerProcess
from tests.bots.conftest import ADMIN_ID, PRICE_STARS, Harness
from tests.bots.test_telegram_karaoke import answers, toast
from texts import chat as messages


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


def redis_holding(connection: redis.Redis, needle: str) -> list[str]:
    """Every Redis key whose name or value holds ``needle`` (strings, hashes, sets, sorted
    sets, lists and streams, whole)."""
    found, raw = [], needle.encode()
    for key in connection.scan_iter(count=1000):
        kind = connection.type(key).decode()
        if kind == "string":
            parts = [connection.get(key) or b""]
        elif kind == "hash":
            parts = [b for pair in connection.hgetall(key).items() for b in pair]
        elif kind == "set":
            parts = list(connection.smembers(key))
        elif kind == "zset":
            parts = [member for member, _ in connection.zrange(key, 0, -1, withscores=True)]
        elif kind == "list":
            parts = connection.lrange(key, 0, -1)
        elif kind == "stream":
            parts = [b for _, fields in connection.xrange(key) for pair in fields.items() for b in pair]
        else:
            parts = []
        if raw in key or any(raw in part for part in parts):
            found.append(key.decode())
    return found


async def test_forget_yes_leaves_no_platform_id_in_redis_and_keeps_todays_karaoke_renders(
    bot: Harness, start_worker: Callable[[], WorkerProcess], media: dict[str, Path]
) -> None:
    """The karaoke render allowance follows /forget's rule (defects 4, 7 and 8): nothing in
    Redis names the person afterwards, and the renders they used today are still counted."""
    bot.queue.settings = bot.queue.settings.with_overrides(karaoke_renders_per_day=2)
    api, person = bot.api, bot.user(864_209_753, "Robin")
    worker = start_worker()
    api.send_media(person, media["song"], "audio", title="Private Diary Song")
    _, _, photo = await bot.preview(person)
    before = answers(api)
    api.press(person, photo.result, bot.button(photo, "kp:kup:")["callback_data"])
    assert "key +1" in await toast(api, before)
    await api.wait_for_call(person.id, "sendAudio", count=3, timeout=60)  # render one, done
    worker.stop()
    before = answers(api)
    api.press(person, photo.result, bot.button(photo, "kp:tup:")["callback_data"])
    assert "tempo 105 %" in await toast(api, before)  # render two, in line
    connection = bot.queue.connection
    assert redis_holding(connection, str(person.id))  # the test can see it

    await _forget(bot, person)
    left = redis_holding(connection, str(person.id))
    assert left == [], left

    start_worker()  # back the next minute, same song: today's renders are still theirs
    api.send_media(person, media["song"], "audio", title="Private Diary Song")
    photos = await api.wait_for_call(person.id, "sendPhoto", count=2, timeout=60)
    before = answers(api)
    api.press(person, photos[1].result, bot.button(photos[1], "kp:kup:")["callback_data"])
    assert "2 karaoke previews today" in await toast(api, before)
