"""Discord refusing a stem for its size after all (a channel whose real limit is lower than the
bot knew) ends in download links, not in retries and a refund."""

from __future__ import annotations

from pathlib import Path

from payments import OrderState
from tests.bots.discord.conftest import DiscordHarness, PaymentsService
from tests.support.stripe_stub import StripeStub


async def test_a_stem_refused_with_413_is_sent_as_links(
    discord_bot: DiscordHarness,
    payments_service: PaymentsService,
    worker: object,
    media: dict[str, Path],
    stripe_stub: StripeStub,
    wait_until,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    jo = bot.person(1_010, "jo")
    await fake.send(jo, media["song"])
    *_, waveform = await bot.preview(jo.dm_channel)
    await bot.open_buy_link(waveform)
    (session,) = stripe_stub.sessions.values()
    order = bot.order_of(jo)

    fake.upload_limit = 20_000  # Discord now takes less than the bot believes (10 MB in a DM)
    assert await payments_service.checkout_completed(order.id, session["id"], order.price_cents) == 200
    told = await fake.wait_for_text(jo.dm_channel, "download links", timeout=120)
    assert told.content.startswith("Your stems are too big to send here, so here are download links")
    assert len(told.urls) == 2 and fake.refused_uploads >= 1
    await fake.wait_for_text(jo.dm_channel, "Here are your stems")
    await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED)
    assert not stripe_stub.calls("/v1/refunds")
