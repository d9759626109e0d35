"""Stars that pay for no order we have (the order lives in another database, or a backup was
restored) go back to the person who paid, once, and the admins see it in /stats."""

from __future__ import annotations

from tests.bots.conftest import ADMIN_ID, PRICE_STARS, Harness


async def test_stars_for_no_order_are_refunded_once_and_counted(bot: Harness, wait_until) -> None:
    api, user = bot.api, bot.user(171)
    payload = "vr1:" + "c" * 32
    message = api.successful_payment(user, payload, PRICE_STARS, "stars-charge-orphan")
    told = await api.wait_for_text(user.id, "has been refunded")
    assert f"{PRICE_STARS} ⭐" in told
    api.push({"message": message})  # Telegram hands the same update out again
    api.send_text(user, "/start")
    await api.wait_for_text(user.id, "split a song")
    refunds = [c for c in api.calls if c.method == "refundStarPayment"]
    assert [c.params for c in refunds] == [
        {"user_id": str(user.id), "telegram_payment_charge_id": "stars-charge-orphan"}
    ]
    assert len([t for t in api.texts_to(user.id) if "has been refunded" in t]) == 1
    admin = bot.user(ADMIN_ID)
    api.send_text(admin, "/stats")
    stats = await api.wait_for_text(admin.id, "Payments for no order:")
    assert "Payments for no order: 1 refunded" in stats and "NOT YET" not in stats
