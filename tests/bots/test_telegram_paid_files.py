"""Issue 21, defect 3: a paid order's files live as long as its download links and its results
page (``DOWNLOAD_TTL_S`` from delivery), not ``RETENTION_HOURS``; the chat says how long.

The real bot (PTB against the fake Bot API), a real worker, the real retention sweep run as the
workers run it, and the job bridge the results page and the download route read."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import jobs
import payments
from payments import OrderState
from tests.bots.conftest import Harness

DOWNLOAD_TTL_S = 7 * 86400


@pytest.fixture
def payments_settings(payments_settings: payments.Settings) -> payments.Settings:
    # Links and the results page exist (a public address: the page's button is sent).
    return replace(
        payments_settings,
        download_secret="paid-files-download-secret",
        public_base_url="https://vr.example",
        download_ttl_s=DOWNLOAD_TTL_S,
    )


async def test_paid_stems_outlive_retention_as_long_as_their_links_and_page(
    bot: Harness, worker: object, media: dict[str, Path], wait_until
) -> None:
    api, user = bot.api, bot.user(410, "Ada")
    api.send_media(user, media["song"], "audio", title="Blue Song", performer="The Testers")
    _, _, photo = await bot.preview(user)
    invoice = await bot.buy(user, photo)
    assert await bot.pay_invoice(user, invoice, charge_id="stars-kept-7-days")
    said = await api.wait_for_text(user.id, "Here are your stems", timeout=120)
    assert "7 days" in said  # the chat says how long the page keeps them
    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
    await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED)
    order = bot.pay.ledger.get_order(order.id)
    full = bot.queue.get(order.fulfil_job_id)
    assert full.delivered_at is not None
    bridge, storage, connection = bot.services.bridge, bot.queue.storage, bot.queue.connection
    retention_s = bot.queue.settings.retention_s

    # Two days after delivery, long past RETENTION_HOURS: the links and the page still work.
    jobs.sweep(storage, connection, retention_s, now=full.delivered_at + 2 * 86400)
    assert all(storage.exists(key) for key in full.outputs.values())
    assert bridge.locate_stem(order, "vocals") is not None
    assert set(bridge.job_results(full.id).files) >= {"vocals", "instrumental", "waveform"}

    # Once the links have expired the files go with the next sweep.
    end = full.delivered_at + DOWNLOAD_TTL_S
    jobs.sweep(storage, connection, retention_s, now=end + 60)
    assert not any(storage.exists(key) for key in full.outputs.values())
    assert bridge.locate_stem(order, "vocals") is None


async def test_start_says_how_long_bought_stems_are_kept(bot: Harness) -> None:
    api, user = bot.api, bot.user(411)
    api.send_text(user, "/start")
    said = await api.wait_for_text(user.id, "Privacy")
    assert "24 hours" in said and "7 days" in said
