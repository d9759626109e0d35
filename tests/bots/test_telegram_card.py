"""Paying by card: the bot hands out a Stripe Checkout link; the webhook process records the
payment and starts the job; the bot delivers the stems when the job's event arrives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import payments
from payments import IncomingPayment, OrderState, Provider
from payments.jobs_bridge import JobsFulfilment
from tests.bots.conftest import Harness
from tests.support.stripe_stub import StripeStub

STRIPE_KEY = "sk_test_bots_suite"


@pytest.fixture
def payments_settings(
    payments_settings: payments.Settings, stripe_stub: StripeStub
) -> payments.Settings:
    return dataclasses.replace(
        payments_settings, stripe_api_key=STRIPE_KEY, stripe_api_base=stripe_stub.url
    )


async def test_pay_by_card_link_then_webhook_payment_delivers_stems(
    bot: Harness,
    worker: object,
    media: dict[str, Path],
    stripe_stub: StripeStub,
    wait_until,
) -> None:
    api, user = bot.api, bot.user(501)
    api.send_media(user, media["song"], "audio", title="Card Song")
    _, _, photo = await bot.preview(user)
    assert "or by card" in photo.params["caption"]

    api.press(user, photo.result, bot.button(photo, "card:")["callback_data"])
    link = await api.wait_for_text(user.id, "Pay by card here: https://checkout.stripe.com/")
    (session,) = stripe_stub.sessions.values()
    assert session["url"] in link
    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
    assert bot.pay.ledger.get_order(order.id).stripe_session_id == session["id"]
    assert session["client_reference_id"] == order.id

    # What `python -m payments.webhook` does on checkout.session.completed (another process).
    result = bot.pay.ledger.record_payment(
        IncomingPayment(
            provider=Provider.STRIPE,
            order_id=order.id,
            charge_id="pi_test_card",
            amount=order.price_cents,
            currency=order.currency,
            event_id="evt_test_card",
            event_type="checkout.session.completed",
            provider_ref=session["id"],
        )
    )
    assert result.granted
    webhook_side = bot.pay.fulfilment(JobsFulfilment(bot.queue, bot.pay.ledger).on_paid)
    assert await webhook_side.start(result.order, "stripe webhook")

    stems = await api.wait_for_call(user.id, "sendAudio", count=4, timeout=90)
    assert [c.params["title"] for c in stems[2:]] == ["Card Song (vocals)", "Card Song (instrumental)"]
    assert await api.wait_for_text(user.id, "Here are your stems")
    await wait_until(
        lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED, what="delivered"
    )
    assert not [c for c in api.calls if c.method in ("sendInvoice", "refundStarPayment")]
