"""Telegram's rules for bots: digital goods are paid in Stars. A deployment that sets up Stripe
(for Discord's card links) shows Telegram users no "Pay by card" link unless it opts in
(``TELEGRAM_CARD_LINKS``); a forged card button opens no Checkout Session."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import payments
from tests.bots.conftest import Harness
from tests.support.stripe_stub import StripeStub

STRIPE_KEY = "sk_test_bots_suite"


@pytest.fixture
def payments_settings(payments_settings: payments.Settings, stripe_stub: StripeStub) -> payments.Settings:
    return dataclasses.replace(payments_settings, stripe_api_key=STRIPE_KEY, stripe_api_base=stripe_stub.url)


async def test_telegram_shows_no_card_link_by_default_even_with_stripe_set_up(
    bot: Harness, worker: object, media: dict[str, Path], stripe_stub: StripeStub
) -> None:
    api, user = bot.api, bot.user(511)
    assert bot.pay.stripe is not None  # Stripe is configured (for another platform)
    api.send_media(user, media["song"], "audio")
    _, _, photo = await bot.preview(user)
    data = [
        button.get("callback_data", "")
        for row in photo.params["reply_markup"]["inline_keyboard"]
        for button in row
    ]
    assert any(d.startswith("buy:") for d in data)
    assert not any(d.startswith("card:") for d in data)
    assert "by card" not in photo.params["caption"]

    # A card button made up by hand is refused: no Checkout Session, no link.
    job_id = bot.button(photo, "buy:")["callback_data"].partition(":")[2]
    query = api.press(user, photo.result, f"card:{job_id}")
    await api.wait_for(
        lambda: [
            c
            for c in api.calls
            if c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == query
        ],
        what="the tap answered",
    )
    assert stripe_stub.sessions == {}
    assert not [t for t in api.texts_to(user.id) if "checkout.stripe.com" in t]
