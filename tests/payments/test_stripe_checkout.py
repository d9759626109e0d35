"""Checkout Sessions and refunds through the real Stripe SDK, against a loopback stub."""

from __future__ import annotations

import time

import pytest

from payments import (
    Payments,
    Provider,
    RefundRequest,
    Settings,
    SettingsError,
    StripeCheckout,
    User,
)
from payments.stripe_checkout import SESSION_WINDOW_S

from .conftest import STRIPE_KEY, StripeStub, make_settings


@pytest.fixture
def checkout(stripe_stub: StripeStub, sqlite_url: str) -> StripeCheckout:
    return StripeCheckout(
        make_settings(sqlite_url, stripe_api_key=STRIPE_KEY, stripe_api_base=stripe_stub.url)
    )


@pytest.fixture
def sqlite_pay(sqlite_url: str):
    payments = Payments.open(make_settings(sqlite_url))
    yield payments
    payments.close()


async def test_session_binds_order_and_is_idempotent(
    checkout: StripeCheckout, stripe_stub: StripeStub, sqlite_pay: Payments
) -> None:
    user: User = sqlite_pay.users.get_or_create("telegram", 1)
    order = sqlite_pay.ledger.create_order(user, "song", "job")

    link = await checkout.create_session(order)
    again = await checkout.create_session(order)  # double tap on "pay"

    assert link.url.startswith("https://checkout.stripe.com/") and link.session_id.startswith("cs_")
    assert again.session_id == link.session_id  # Stripe replayed the idempotent request
    calls = stripe_stub.calls("/v1/checkout/sessions")
    assert len(calls) == 2
    first = calls[0]
    assert first.headers["Authorization"] == f"Bearer {STRIPE_KEY}"
    window = int(time.time() // SESSION_WINDOW_S)
    assert first.headers["Idempotency-Key"] == f"checkout-{order.id}-{window}"
    assert calls[1].headers["Idempotency-Key"] == first.headers["Idempotency-Key"]
    form = first.form
    assert form["client_reference_id"] == order.id
    assert form["metadata[order_id]"] == order.id
    assert form["payment_intent_data[metadata][order_id]"] == order.id
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "199"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["success_url"] == f"https://bot.example.test/checkout/done?order={order.id}"
    expires = int(form["expires_at"])
    assert 11 * 3600 - 5 <= expires - time.time() <= 23 * 3600


async def test_paid_orders_cannot_open_sessions(
    checkout: StripeCheckout, stripe_stub: StripeStub, sqlite_pay: Payments
) -> None:
    from .test_store import stripe_payment

    order = sqlite_pay.ledger.create_order(sqlite_pay.users.get_or_create("telegram", 1), "s", "j")
    sqlite_pay.ledger.record_payment(stripe_payment(order.id))
    with pytest.raises(ValueError, match="not payable"):
        await checkout.create_session(sqlite_pay.ledger.get_order(order.id))
    assert stripe_stub.requests == []


async def test_refund_uses_payment_intent_and_stable_key(
    checkout: StripeCheckout, stripe_stub: StripeStub
) -> None:
    request = RefundRequest(
        payment_id=7,
        order_id="a" * 32,
        provider=Provider.STRIPE,
        charge_id="pi_123",
        amount=199,
        currency="usd",
        platform="telegram",
        platform_user_id="1",
        reason="job failed",
    )
    ref = await checkout.refund(request)
    assert ref.startswith("re_")
    assert await checkout.refund(request) == ref  # a retried refund is the same refund
    calls = stripe_stub.calls("/v1/refunds")
    assert [c.headers["Idempotency-Key"] for c in calls] == ["refund-payment-7"] * 2
    assert calls[0].form["payment_intent"] == "pi_123"
    assert calls[0].form["metadata[order_id]"] == "a" * 32


def test_missing_key_is_a_startup_error(sqlite_url: str) -> None:
    with pytest.raises(SettingsError):
        StripeCheckout(Settings(database_url=sqlite_url))
