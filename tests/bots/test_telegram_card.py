"""Paying by card: the bot hands out a Stripe Checkout link; the webhook process records the
payment and starts the job; the bot delivers the stems when the job's event arrives."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

import payments
from jobs import JobStatus
from payments import IncomingPayment, OrderState, Provider
from tests.bots.conftest import Harness
from tests.support.stripe_stub import StripeStub
from web.jobs_bridge import JobsFulfilment

STRIPE_KEY = "sk_test_bots_suite"


@pytest.fixture
def payments_settings(payments_settings: payments.Settings, stripe_stub: StripeStub) -> payments.Settings:
    # Card links on Telegram are an opt-in (Telegram wants digital goods paid in Stars).
    return dataclasses.replace(
        payments_settings,
        stripe_api_key=STRIPE_KEY,
        stripe_api_base=stripe_stub.url,
        telegram_card_links=True,
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

    # What `python -m web.server` does on checkout.session.completed (another process).
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


def _webhook_payment(bot: Harness, order: payments.Order, session_id: str, n: int):
    """What `python -m web.server` does on checkout.session.completed (another process):
    record the payment, then start the paid work through the job bridge."""
    result = bot.pay.ledger.record_payment(
        IncomingPayment(
            provider=Provider.STRIPE,
            order_id=order.id,
            charge_id=f"pi_test_{n}",
            amount=order.price_cents,
            currency=order.currency,
            event_id=f"evt_test_{n}",
            event_type="checkout.session.completed",
            provider_ref=session_id,
        )
    )
    assert result.granted
    return result, bot.pay.fulfilment(JobsFulfilment(bot.queue, bot.pay.ledger).on_paid)


async def test_a_card_order_answered_from_the_same_song_cache_is_delivered_at_once(
    bot: Harness, worker: object, media: dict[str, Path], stripe_stub: StripeStub, wait_until
) -> None:
    api = bot.api
    # Someone separated the whole song before (the same-song cache now holds its stems).
    first = bot.queue.submit("900001", "telegram", "900001", media["song"], kind="full")
    await wait_until(lambda: bot.queue.get(first.id).status is JobStatus.DONE, 60, "full job")

    user = bot.user(502)
    api.send_media(user, media["song"], "audio", title="Same Song")
    _, _, photo = await bot.preview(user)
    api.press(user, photo.result, bot.button(photo, "card:")["callback_data"])
    await api.wait_for_text(user.id, "Pay by card here")
    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
    result, webhook_side = _webhook_payment(bot, order, order_session(bot, order), 2)
    assert await webhook_side.start(result.order, "stripe webhook")
    full = bot.queue.get(bot.pay.ledger.get_order(order.id).fulfil_job_id)
    assert full.cached  # no job ran: the stems were there; yet they arrive, no restart needed

    stems = await api.wait_for_call(user.id, "sendAudio", count=4, timeout=30)
    assert [c.params["title"] for c in stems[2:]] == ["Same Song (vocals)", "Same Song (instrumental)"]
    await wait_until(
        lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED, what="delivered"
    )


def order_session(bot: Harness, order: payments.Order) -> str:
    session_id = bot.pay.ledger.get_order(order.id).stripe_session_id
    assert session_id
    return session_id


async def test_a_card_checkout_keeps_the_song_and_a_song_gone_anyway_is_refunded_in_chat(
    bot: Harness, worker: object, media: dict[str, Path], stripe_stub: StripeStub, wait_until
) -> None:
    api, user = bot.api, bot.user(503)
    api.send_media(user, media["song2"], "audio")
    _, _, photo = await bot.preview(user)
    preview = bot.queue.get(bot.button(photo, "card:")["callback_data"].partition(":")[2])
    stored = bot.queue.storage.local_path(preview.input_key)
    retention_s = bot.queue.settings.retention_s
    nearly_expired = time.time() - retention_s + 60
    os.utime(stored, (nearly_expired, nearly_expired))

    # Asking to pay restarts the song's retention clock; the Checkout Session expires first.
    api.press(user, photo.result, bot.button(photo, "card:")["callback_data"])
    await api.wait_for_text(user.id, "Pay by card here")
    clicked = time.time()
    assert stored.stat().st_mtime >= clicked - 5
    (session,) = stripe_stub.sessions.values()
    assert session["expires_at"] <= stored.stat().st_mtime + retention_s

    # The song is deleted anyway (by hand, say) before the payment arrives at the webhook
    # process: the person is told in the chat, and the card is refunded once.
    bot.queue.storage.delete(preview.input_key)
    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
    result, webhook_side = _webhook_payment(bot, order, session["id"], 3)
    assert await webhook_side.start(result.order, "stripe webhook")
    told = await api.wait_for_text(user.id, "has been refunded")
    assert "no longer stored" in told and "($1.99)" in told
    await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.REFUNDED, what="refunded")
    assert len(stripe_stub.calls("/v1/refunds")) == 1
