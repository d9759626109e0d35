"""Payments' recovery runs once per deployment — in the payments service, not in the Discord
bot — and a refund it decides on reaches the person: the order is handed to their bot through
the job pipeline, which refunds it once and says why."""

from __future__ import annotations

from pathlib import Path

import jobs
import payments
from payments import IncomingPayment, OrderState, Provider
from tests.bots.discord.conftest import DiscordHarness, PaymentsService
from tests.support.stripe_stub import StripeStub


async def test_an_order_recovery_gives_up_is_refunded_by_the_bot_and_told(
    discord_bot: DiscordHarness,
    payments_settings: payments.Settings,
    jobs_settings: jobs.Settings,
    media: dict[str, Path],
    stripe_stub: StripeStub,
    wait_until,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    hana = bot.person(8008, "hana")
    assert not bot.bot.flow.owns_recovery  # a card-only bot never recovers on its own
    preview = bot.queue.submit(hana.id, "discord", hana.dm_channel, media["song"], kind="preview")
    pay = bot.pay
    user = pay.users.get_or_create("discord", hana.id)
    order = pay.ledger.create_order(user, preview.content_hash, preview.id)
    paid = pay.ledger.record_payment(
        IncomingPayment(
            provider=Provider.STRIPE,
            order_id=order.id,
            charge_id="pi_hana",
            amount=order.price_cents,
            currency=order.currency,
            event_id="evt_hana",
            event_type="checkout.session.completed",
        )
    )
    assert paid.granted
    for attempt in range(payments_settings.max_fulfil_attempts):  # started, never delivered
        pay.ledger.note_fulfil_attempt(order.id, "system", f"attempt {attempt}")

    # The payments service starts: its recovery gives the order up through hana's bot.
    service = PaymentsService(payments_settings, jobs.JobQueue(jobs_settings))
    await service.start()
    try:
        told = await fake.wait_for_text(hana.dm_channel, "has been refunded")
        assert "even after several tries" in told.content and "$1.99" in told.content
        await wait_until(lambda: pay.ledger.get_order(order.id).state is OrderState.REFUNDED)
        assert len(stripe_stub.calls("/v1/refunds")) == 1
    finally:
        await service.stop()
        service.queue.connection.close()
    # A second recovery (a restart) changes nothing and tells nobody again.
    service = PaymentsService(payments_settings, jobs.JobQueue(jobs_settings))
    await service.start()
    await service.stop()
    service.queue.connection.close()
    assert len([m for m in fake.in_channel(hana.dm_channel) if "refunded" in m.content]) == 1
    assert len(stripe_stub.calls("/v1/refunds")) == 1
