"""Across a restart: buttons sent before it still work (dynamic items, matched by their custom_id
template), and a slash command's song whose interaction the new process no longer holds is
delivered to the person's DMs, not to the channel where it was asked for."""

from __future__ import annotations

from pathlib import Path

from payments import OrderState
from tests.bots.discord.conftest import DiscordHarness, PaymentsService, job_of
from tests.bots.fake_discord import CHANNEL_ID
from tests.support.stripe_stub import StripeStub


async def test_buttons_survive_a_restart_and_stems_find_the_person(
    discord_bot: DiscordHarness,
    payments_service: PaymentsService,
    worker: object,
    media: dict[str, Path],
    stripe_stub: StripeStub,
    wait_until,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    ivy = bot.person(9009, "ivy")
    command = await fake.slash(ivy, "separate", in_guild=True, file=media["song"])
    *_, waveform = await bot.preview(CHANNEL_ID)
    assert waveform.ephemeral and waveform.for_user == ivy.id
    await fake.answer_text(command, "Your preview is ready")

    await bot.stop()
    await bot.start()  # a new client and frontend: the interaction is forgotten

    # A card button of an older version (before Buy was a link) still works after a restart.
    old = fake.plant(CHANNEL_ID, f"vr:card:{job_of(waveform)}")
    tap = await fake.press(ivy, old, old.custom_ids[0])
    await fake.answer_text(tap, "Pay by card here")
    (session,) = stripe_stub.sessions.values()
    assert await bot.open_buy_link(waveform) == session["url"]  # the Buy link: the same order
    order = bot.order_of(ivy)
    assert await payments_service.checkout_completed(order.id, session["id"], order.price_cents) == 200

    done = await fake.wait_for_text(ivy.dm_channel, "Here are your stems", timeout=120)
    assert not done.ephemeral  # in ivy's DMs, never in the channel for everyone
    stems = [m for m in fake.in_channel(ivy.dm_channel) if m.files]
    assert len(stems) == 2 and not any(m.ephemeral for m in stems)
    assert not [m for m in fake.in_channel(CHANNEL_ID) if m.id > old.id and not m.ephemeral]
    await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED)
