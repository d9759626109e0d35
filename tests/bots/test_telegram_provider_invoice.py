"""A deployment allowed to take cards in Telegram: invoices through a Stripe provider token.

The invoice is in the card currency with the provider token, the payment is recorded with both
Telegram's and Stripe's charge ids, and its refund goes through Stripe's refund API by the Stripe
charge (``refundStarPayment`` is for Stars only).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import payments
from payments import OrderState, PaymentStatus, Provider
from tests.bots.conftest import ADMIN_ID, PRICE_STARS, Harness
from tests.support.stripe_stub import StripeStub

STRIPE_KEY = "sk_test_bots_suite"
PROVIDER_TOKEN = "284685063:TEST:provider-token-for-tests"
PRICE_CENTS = 199


@pytest.fixture
def payments_settings(payments_settings: payments.Settings, stripe_stub: StripeStub) -> payments.Settings:
    return dataclasses.replace(
        payments_settings,
        stripe_api_key=STRIPE_KEY,
        stripe_api_base=stripe_stub.url,
        telegram_provider_token=PROVIDER_TOKEN,
        price_cents=PRICE_CENTS,
        currency="usd",
    )


async def test_card_invoice_with_provider_token_is_paid_delivered_and_refunded_by_stripe(
    bot: Harness, worker: object, media: dict[str, Path], stripe_stub: StripeStub, wait_until
) -> None:
    api, user = bot.api, bot.user(601)
    api.send_text(user, "/start")
    assert "cost $1.99." in await api.wait_for_text(user.id, "split a song")

    api.send_media(user, media["song"], "audio", title="Card Song")
    _, _, photo = await bot.preview(user)
    assert bot.button(photo, "buy:")["text"] == "Full stems — $1.99"
    # The invoice takes cards already: no second, Checkout-link card button.
    assert not [
        b
        for row in photo.params["reply_markup"]["inline_keyboard"]
        for b in row
        if b.get("callback_data", "").startswith("card:")
    ]

    invoice = await bot.buy(user, photo)
    assert invoice.params["currency"] == "USD"
    assert invoice.params["provider_token"] == PROVIDER_TOKEN
    assert invoice.params["prices"] == [{"label": "Full stems", "amount": PRICE_CENTS}]
    payload = invoice.params["payload"]
    ok, why = await bot.pre_checkout(user, payload, PRICE_STARS)  # a Stars amount: refused
    assert not ok and "price has changed" in why
    query = api.pre_checkout(user, payload, PRICE_CENTS, currency="USD")
    await api.wait_for(
        lambda: [
            c
            for c in api.calls
            if c.method == "answerPreCheckoutQuery"
            and c.params["pre_checkout_query_id"] == query
            and c.params["ok"] == "true"
        ],
        what="pre-checkout accepted",
    )
    api.successful_payment(
        user,
        payload,
        PRICE_CENTS,
        "tg-card-charge-1",
        currency="USD",
        provider_charge_id="ch_test_card_1",
    )
    stems = await api.wait_for_call(user.id, "sendAudio", count=4, timeout=90)
    assert stems[3].params["title"] == "Card Song (instrumental)"
    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
    await wait_until(
        lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED, what="delivered"
    )
    (payment,) = bot.pay.ledger.payments_for(order.id)
    assert payment.provider is Provider.TELEGRAM_CARD
    assert (payment.charge_id, payment.provider_ref) == ("tg-card-charge-1", "ch_test_card_1")
    assert (payment.amount, payment.currency) == (PRICE_CENTS, "usd")

    # An admin refunds it: through Stripe, by the Stripe charge; never refundStarPayment.
    admin = bot.user(ADMIN_ID)
    api.send_text(admin, f"/refund {order.id}")
    assert await api.wait_for_text(admin.id, f"Order {order.id} refunded")
    (refund,) = stripe_stub.calls("/v1/refunds")
    assert refund.form["charge"] == "ch_test_card_1"
    assert refund.headers["Idempotency-Key"] == f"refund-payment-{payment.id}"
    assert bot.pay.ledger.payments_for(order.id)[0].status is PaymentStatus.REFUNDED
    assert not [c for c in api.calls if c.method == "refundStarPayment"]
