"""A Stars payment is never lost when the store fails at ``successful_payment`` (issue 21,
defect 1). Telegram never sends that update again, so the bot retries the store within the
handler; and its recovery reconciles with Telegram's own record of what was paid
(``getStarTransactions``): any incoming Stars transaction the ledger lacks is recorded, then
fulfilled or refunded. Real PTB against the fake Bot API, the real queue on redis-server,
SQLite; the store's failure is injected at the ledger's door (a database outage cannot be
produced on demand offline)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bots.core import invoices
from payments import OrderState, Provider, invoice_payload
from tests.bots.conftest import PRICE_STARS, Harness
from texts import chat as messages


@pytest.fixture
def store_outage(bot: Harness, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """``outage["failures"]`` more calls of ``Ledger.record_payment`` fail as a database that
    is down does (-1: every call); ``outage["calls"]`` counts them all."""
    outage = {"failures": 0, "calls": 0}
    record = bot.pay.ledger.record_payment

    def flaky(*args: Any, **kwargs: Any) -> Any:
        outage["calls"] += 1
        if outage["failures"]:
            outage["failures"] -= 1 if outage["failures"] > 0 else 0
            raise OperationalError(
                "INSERT INTO provider_events", {}, sqlite3.OperationalError("disk I/O error")
            )
        return record(*args, **kwargs)

    monkeypatch.setattr(bot.pay.ledger, "record_payment", flaky)
    monkeypatch.setattr(invoices, "PAYMENT_STORE_RETRY_S", (0.05, 0.1, 0.2))
    return outage


async def _payable(bot: Harness, media: dict[str, Path], user_id: int) -> tuple[Any, str]:
    """A preview waiting in line (no worker here) and its unpaid order; the invoice's payload."""
    person = bot.user(user_id)
    preview = bot.queue.submit(str(user_id), "telegram", str(user_id), media["song"])
    account = bot.pay.users.get_or_create("telegram", user_id)
    order = bot.pay.ledger.create_order(account, preview.content_hash, preview.id)
    payload = invoice_payload(order)
    assert (await bot.pre_checkout(person, payload, PRICE_STARS))[0]
    return order, payload


def _history_reads(bot: Harness) -> int:
    return len([c for c in bot.api.calls if c.method == "getStarTransactions"])


def _fulfilled(bot: Harness, order_id: str) -> Callable[[], bool]:
    def check() -> bool:
        order = bot.pay.ledger.get_order(order_id)
        return (
            order.state is OrderState.PAID
            and order.fulfil_job_id is not None
            and bot.queue.get(order.fulfil_job_id) is not None
        )

    return check


async def test_a_passing_store_failure_is_retried_within_the_handler(
    bot: Harness, media: dict[str, Path], store_outage: dict[str, int], wait_until
) -> None:
    api, person = bot.api, bot.user(741)
    order, payload = await _payable(bot, media, person.id)
    store_outage["failures"] = 2
    api.successful_payment(person, payload, PRICE_STARS, "stars-retried-1")
    await wait_until(_fulfilled(bot, order.id), what="the paid job submitted")
    (payment,) = bot.pay.ledger.payments_for(order.id)
    assert (payment.charge_id, payment.granted) == ("stars-retried-1", True)
    assert store_outage["calls"] == 3
    await api.wait_for_text(person.id, "Separating the full song")
    assert messages.INTERNAL_ERROR not in api.texts_to(person.id)


async def test_a_payment_the_store_missed_is_recorded_and_fulfilled_by_recovery(
    bot: Harness, media: dict[str, Path], store_outage: dict[str, int], wait_until
) -> None:
    api, person = bot.api, bot.user(742)
    order, payload = await _payable(bot, media, person.id)
    store_outage["failures"] = -1  # down for the whole handler
    api.successful_payment(person, payload, PRICE_STARS, "stars-missed-1")
    await api.wait_for_text(person.id, messages.PAYMENT_NOT_RECORDED)
    assert messages.INTERNAL_ERROR not in api.texts_to(person.id)
    assert bot.pay.ledger.get_order(order.id).state is OrderState.CREATED

    # The store is back; the bot restarts, and its recovery asks Telegram what was paid.
    store_outage["failures"] = 0
    await bot.stop()
    await bot.start()
    await wait_until(_fulfilled(bot, order.id), what="the missed payment fulfilled")
    assert _history_reads(bot)
    (payment,) = bot.pay.ledger.payments_for(order.id)
    assert (payment.charge_id, payment.granted, payment.amount) == ("stars-missed-1", True, PRICE_STARS)
    await api.wait_for_text(person.id, "Separating the full song")

    # Another restart reads Telegram's record again and finds nothing new: granted once.
    rounds = _history_reads(bot)
    await bot.stop()
    await bot.start()
    await api.wait_for(lambda: _history_reads(bot) > rounds, what="recovery again")
    assert len(bot.pay.ledger.payments_for(order.id)) == 1
    assert not [c for c in api.calls if c.method == "refundStarPayment"]


async def test_stars_the_store_missed_for_no_order_are_refunded_by_recovery_once(
    bot: Harness, store_outage: dict[str, int], wait_until
) -> None:
    """Money for an invoice this database does not have (a restored backup), missed by the store
    too: recovery records it with its payer and sends it back, once, however often it runs."""
    api, person = bot.api, bot.user(743)
    store_outage["failures"] = -1
    api.successful_payment(person, "vr1:" + "c" * 32, PRICE_STARS, "stars-stray-1")
    await api.wait_for_text(person.id, messages.PAYMENT_NOT_RECORDED)
    store_outage["failures"] = 0
    await bot.stop()
    bot.recovery_interval_s = 0.3  # and then every 0.3 s
    await bot.start()
    await api.wait_for_text(person.id, "has been refunded")
    refunds = [c for c in api.calls if c.method == "refundStarPayment"]
    assert [(int(c.params["user_id"]), c.params["telegram_payment_charge_id"]) for c in refunds] == [
        (person.id, "stars-stray-1")
    ]
    rounds = _history_reads(bot)
    await api.wait_for(lambda: _history_reads(bot) >= rounds + 3, what="three more rounds")
    assert len([c for c in api.calls if c.method == "refundStarPayment"]) == 1
    (stray,) = bot.pay.ledger.unmatched_payments()
    assert (stray.charge_id, stray.provider) == ("stars-stray-1", Provider.STARS)
