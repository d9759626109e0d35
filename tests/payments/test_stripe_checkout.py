"""Checkout Sessions and refunds through the real Stripe SDK, against a loopback stub."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from payments import (
    Payment,
    Payments,
    PaymentStatus,
    Provider,
    RefundRequest,
    Settings,
    SettingsError,
    SongExpiring,
    StripeCheckout,
)
from payments.stripe_checkout import MIN_SESSION_S, SESSION_WINDOW_S
from people import User
from tests.support.stripe_stub import StripeStub

from .conftest import STRIPE_KEY, make_settings


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
    # Our marker: the webhook takes only sessions of this app in this environment.
    assert (form["metadata[app]"], form["metadata[env]"]) == ("vocal-remover", "production")
    staging = StripeCheckout(replace(checkout.settings, stripe_environment="staging"))
    params, _ = staging.session_params(order)
    assert params["metadata"]["env"] == params["payment_intent_data"]["metadata"]["env"] == "staging"
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "199"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["success_url"] == f"https://bot.example.test/checkout/done?order={order.id}"
    expires = int(form["expires_at"])
    assert 11 * 3600 - 5 <= expires - time.time() <= 23 * 3600


async def test_a_session_never_outlives_the_song_it_pays_for(
    checkout: StripeCheckout, stripe_stub: StripeStub, sqlite_pay: Payments
) -> None:
    order = sqlite_pay.ledger.create_order(sqlite_pay.users.get_or_create("telegram", 2), "s", "j")
    # Whenever a session is asked for, it expires within the time the song is kept, and at
    # least the 30 minutes Stripe requires; the same idempotency key always means the same
    # parameters (Stripe refuses a replayed key with different ones).
    for keep_hours in (24, 6, 1):
        keep_s = keep_hours * 3600
        same_key: dict[str, int] = {}
        for offset in range(0, 26 * 3600, 601):
            now = 1_800_000_000 + offset
            params, key = checkout.session_params(order, now=now, keep_s=keep_s)
            assert now + MIN_SESSION_S <= params["expires_at"] <= now + keep_s
            assert same_key.setdefault(key, params["expires_at"]) == params["expires_at"]
        assert len(same_key) > 1
    with pytest.raises(SongExpiring):  # too little time left for any session Stripe accepts
        checkout.session_params(order, keep_s=20 * 60)
    link = await checkout.create_session(order, keep_s=2 * 3600)
    assert time.time() + MIN_SESSION_S - 5 <= link.expires_at <= time.time() + 2 * 3600
    (call,) = stripe_stub.calls("/v1/checkout/sessions")
    assert int(call.form["expires_at"]) == link.expires_at


async def test_paid_orders_cannot_open_sessions(
    checkout: StripeCheckout, stripe_stub: StripeStub, sqlite_pay: Payments
) -> None:
    from .test_store import stripe_payment

    order = sqlite_pay.ledger.create_order(sqlite_pay.users.get_or_create("telegram", 1), "s", "j")
    sqlite_pay.ledger.record_payment(stripe_payment(order.id))
    with pytest.raises(ValueError, match="not payable"):
        await checkout.create_session(sqlite_pay.ledger.get_order(order.id))
    assert stripe_stub.requests == []


def refund_request(provider: Provider, charge_id: str, provider_ref: str | None = None) -> RefundRequest:
    payment = Payment(
        id=7,
        order_id="a" * 32,
        user_id=1,
        provider=provider,
        charge_id=charge_id,
        provider_ref=provider_ref,
        amount=199,
        currency="usd",
        granted=True,
        status=PaymentStatus.REFUND_PENDING,
        refund_ref=None,
        created_at=datetime.now(UTC),
    )
    return RefundRequest(payment, "telegram", "1", "job failed")


async def test_refund_uses_payment_intent_and_stable_key(
    checkout: StripeCheckout, stripe_stub: StripeStub
) -> None:
    request = refund_request(Provider.STRIPE, "pi_123", provider_ref="cs_test_1")
    ref = await checkout.refund(request)
    assert ref.startswith("re_")
    assert await checkout.refund(request) == ref  # a retried refund is the same refund
    calls = stripe_stub.calls("/v1/refunds")
    assert [c.headers["Idempotency-Key"] for c in calls] == ["refund-payment-7"] * 2
    assert calls[0].form["payment_intent"] == "pi_123"
    assert calls[0].form["metadata[order_id]"] == "a" * 32


async def test_card_payment_made_in_telegram_is_refunded_by_its_stripe_charge(
    checkout: StripeCheckout, stripe_stub: StripeStub
) -> None:
    # charge_id is Telegram's id; Stripe knows the payment by provider_payment_charge_id.
    assert await checkout.refund(refund_request(Provider.TELEGRAM_CARD, "tg-1", "ch_3Abc"))
    (call,) = stripe_stub.calls("/v1/refunds")
    assert call.form["charge"] == "ch_3Abc" and "payment_intent" not in call.form
    # Without a Stripe id nothing can be sent back: the refund fails (stays pending), never
    # passes for done.
    with pytest.raises(ValueError, match="no Stripe charge"):
        await checkout.refund(refund_request(Provider.TELEGRAM_CARD, "tg-2", None))
    # A Checkout session that took no money has nothing to refund.
    assert await checkout.refund(refund_request(Provider.STRIPE, "cs_test_free")) is None
    assert len(stripe_stub.calls("/v1/refunds")) == 1


def test_telegram_provider_token_needs_the_stripe_key(sqlite_url: str) -> None:
    env = {"DATABASE_URL": sqlite_url, "TELEGRAM_PROVIDER_TOKEN": "284685063:TEST:abc"}
    with pytest.raises(SettingsError, match="STRIPE_API_KEY"):
        Settings.from_env(env)
    settings = Settings.from_env({**env, "STRIPE_API_KEY": STRIPE_KEY})
    assert settings.telegram_provider_token and "284685063" not in repr(settings)


def test_missing_key_is_a_startup_error(sqlite_url: str) -> None:
    with pytest.raises(SettingsError):
        StripeCheckout(Settings(database_url=sqlite_url))


def test_the_environment_name_is_a_checked_setting() -> None:
    assert Settings.from_env({}).stripe_environment == "production"
    assert Settings.from_env({"STRIPE_ENVIRONMENT": "staging-2"}).stripe_environment == "staging-2"
    with pytest.raises(SettingsError, match="STRIPE_ENVIRONMENT"):
        Settings.from_env({"STRIPE_ENVIRONMENT": "Prod Env"})


async def test_checkout_opens_in_the_buyers_language(
    checkout: StripeCheckout, stripe_stub: StripeStub, sqlite_pay: Payments
) -> None:
    """Stripe's own locale where it has the buyer's language, else "auto" (Stripe then follows
    the browser); the product is named in the buyer's language; one language's idempotency key
    never replays another's session."""
    user: User = sqlite_pay.users.get_or_create("telegram", 2)
    order = sqlite_pay.ledger.create_order(user, "song", "job")
    english, english_key = checkout.session_params(order, now=1e9)
    brazil, brazil_key = checkout.session_params(order, now=1e9, language="pt_BR")
    ukraine, _ = checkout.session_params(order, now=1e9, language="uk")
    persian, _ = checkout.session_params(order, now=1e9, language="fa")
    assert (english["locale"], brazil["locale"]) == ("en", "pt-BR")
    assert ukraine["locale"] == persian["locale"] == "auto"
    name = "line_items", 0, "price_data", "product_data", "name"

    def product(params: dict) -> str:
        return params[name[0]][name[1]][name[2]][name[3]][name[4]]

    assert product(english) == "Full-length stems: vocals + instrumental"
    assert product(brazil) == "Faixas completas: voz + instrumental"
    assert product(ukraine) == "Повні доріжки: вокал + інструментал"
    assert english_key != brazil_key and english_key.startswith(f"checkout-{order.id}-")
    await checkout.create_session(order, language="pt_BR")
    (call,) = stripe_stub.calls("/v1/checkout/sessions")
    assert call.form["locale"] == "pt-BR"
    assert call.form["line_items[0][price_data][product_data][name]"] == product(brazil)
