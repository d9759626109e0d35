"""One tap to pay on Discord: the preview's own Buy button is a link to the payments service's
short signed redirect (``/buy/<token>``), which orders the song for the preview's owner, opens
(or reuses) its Checkout Session and answers 303 to it. No session exists for a preview nobody
buys; opening the link twice reuses the order and the session."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from payments import OrderState
from tests.bots.discord.conftest import DiscordHarness, PaymentsService, job_of
from tests.support.stripe_stub import StripeStub


async def test_the_preview_buy_link_opens_checkout_in_one_tap(
    discord_bot: DiscordHarness,
    payments_service: PaymentsService,
    worker: object,
    media: dict[str, Path],
    stripe_stub: StripeStub,
    wait_until,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    lea = bot.person(9505, "lea")
    await fake.send(lea, media["song"])
    *_, waveform = await bot.preview(lea.dm_channel)
    (buy,) = [b for row in waveform.components for b in row["components"] if "/buy/" in b.get("url", "")]
    assert buy["label"] == "Buy full stems — $1.99" and buy["style"] == 5  # a link button
    assert buy["url"].startswith(payments_service.url + "/buy/") and len(buy["url"]) < 200
    assert not [c for c in waveform.custom_ids if c.startswith(("vr:card:", "vr:buy:"))]
    assert stripe_stub.sessions == {}  # nobody tapped: no session, no order
    assert bot.pay.users.get("discord", lea.id) is not None
    assert bot.pay.ledger.user_orders(bot.pay.users.get("discord", lea.id).id) == []

    checkout = await bot.open_buy_link(waveform)
    (session,) = stripe_stub.sessions.values()
    assert checkout == session["url"]
    order = bot.order_of(lea)
    assert (order.job_id, order.state) == (job_of(waveform), OrderState.CREATED)
    assert session["client_reference_id"] == order.id and order.stripe_session_id == session["id"]
    # Opened again (a second tap, another device): the same order, the same session.
    assert await bot.open_buy_link(waveform) == checkout
    assert bot.order_of(lea).id == order.id and len(stripe_stub.sessions) == 1

    forged_url = buy["url"][:-1] + ("1" if buy["url"].endswith("0") else "0")
    async with aiohttp.ClientSession() as http:  # a forged link opens nothing
        async with http.get(forged_url, allow_redirects=False) as forged:
            assert forged.status == 403
    assert len(stripe_stub.sessions) == 1

    assert await payments_service.checkout_completed(order.id, session["id"], order.price_cents) == 200
    await fake.wait_for_text(lea.dm_channel, "Here are your stems", timeout=120)
    await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED)
