"""Telegram Stars: invoice payloads, pre-checkout rules, successful_payment, refund callback."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from payments import (
    STARS_CURRENCY,
    InvalidPayload,
    Order,
    OrderState,
    PaidOutcome,
    Payments,
    Provider,
    RefundRequest,
    RefundStatus,
    StarsPayments,
    build_invoice,
    invoice_payload,
    parse_payload,
)
from payments.stars import MSG_ALREADY_PAID, MSG_BANNED, MSG_GONE, MSG_NOT_YOURS, MSG_PRICE, MSG_UNKNOWN
from people import User

TG_USER = 4242  # the ``user`` fixture's Telegram id


@pytest.fixture
def stored() -> set[str]:
    """Job ids whose uploaded song is still in storage."""
    return {"preview-job"}


@pytest.fixture
def stars(pay: Payments, stored: set[str]) -> StarsPayments:
    return pay.stars(song_available=lambda order: order.job_id in stored)


@pytest.fixture
def order(pay: Payments, user: User) -> Order:
    return pay.ledger.create_order(user, "song-hash", "preview-job")


def test_invoice_and_payload_round_trip(order: Order) -> None:
    invoice = build_invoice(order)
    assert (invoice.currency, invoice.amount) == (STARS_CURRENCY, 100)
    assert invoice.payload == invoice_payload(order) and len(invoice.payload.encode()) <= 128
    assert parse_payload(invoice.payload) == order.id
    for bad in ("", "vr1:", "vr1:nothex", "other:" + order.id, invoice.payload + "x"):
        with pytest.raises(InvalidPayload):
            parse_payload(bad)


def test_pre_checkout_accepts_a_valid_invoice(stars: StarsPayments, order: Order) -> None:
    decision = stars.check_pre_checkout(TG_USER, invoice_payload(order), "XTR", 100)
    assert decision.ok and decision.error_message is None and decision.order.id == order.id


def test_pre_checkout_rules(pay: Payments, stars: StarsPayments, order: Order, stored: set[str]) -> None:
    payload = invoice_payload(order)

    def why(user_id: int = TG_USER, payload: str = payload, cur: str = "XTR", amount: int = 100):
        decision = stars.check_pre_checkout(user_id, payload, cur, amount)
        assert not decision.ok
        return decision.error_message

    assert why(payload="vr1:" + "0" * 32) == MSG_UNKNOWN
    assert why(payload="forged") == MSG_UNKNOWN
    pay.users.get_or_create("telegram", 5)
    assert why(user_id=5) == MSG_NOT_YOURS
    assert why(amount=1) == MSG_PRICE
    assert why(cur="USD") == MSG_PRICE
    stored.clear()
    assert why() == MSG_GONE
    stored.add("preview-job")
    pay.users.set_banned(order.user_id, True, "admin:1")
    assert why() == MSG_BANNED
    pay.users.set_banned(order.user_id, False, "admin:1")
    stars.record_payment(payload, "XTR", 100, "tg-charge-1")
    assert why() == MSG_ALREADY_PAID


def test_pre_checkout_treats_a_broken_storage_check_as_gone(pay: Payments, order: Order) -> None:
    def broken(_order: Order) -> bool:
        raise OSError("storage unreachable")

    decision = pay.stars(broken).check_pre_checkout(TG_USER, invoice_payload(order), "XTR", 100)
    assert not decision.ok and decision.error_message == MSG_GONE


def test_successful_payment_grants_once(pay: Payments, stars: StarsPayments, order: Order) -> None:
    payload = invoice_payload(order)
    first = stars.record_payment(payload, "XTR", 100, "tg-charge-1", "provider-1")
    assert first.outcome is PaidOutcome.GRANTED
    assert first.payment.provider is Provider.STARS
    assert first.payment.charge_id == "tg-charge-1" and first.payment.currency == "xtr"
    again = stars.record_payment(payload, "XTR", 100, "tg-charge-1", "provider-1")
    assert again.outcome is PaidOutcome.REPLAY
    assert pay.ledger.get_order(order.id).state is OrderState.PAID
    assert len(pay.ledger.payments_for(order.id)) == 1


def test_card_invoices_through_a_provider_token(pay: Payments, user: User, order: Order) -> None:
    """With TELEGRAM_PROVIDER_TOKEN, Telegram invoices charge the card price, not Stars."""
    card = StarsPayments(pay.ledger, pay.users, lambda o: True, provider_token="284685063:TEST:x")
    assert pay.list_price(card.provider) == (199, "usd")
    assert pay.list_price(Provider.STARS) == (100, "XTR")
    invoice = card.invoice(order)
    assert (invoice.currency, invoice.amount, invoice.provider_token) == ("USD", 199, "284685063:TEST:x")
    payload = invoice_payload(order)
    assert not card.check_pre_checkout(TG_USER, payload, "XTR", 100).ok
    assert card.check_pre_checkout(TG_USER, payload, "USD", 199).ok
    paid = card.record_payment(payload, "USD", 199, "tg-card-1", "ch_stripe_1")
    assert paid.granted and paid.payment.provider is Provider.TELEGRAM_CARD
    assert (paid.payment.charge_id, paid.payment.provider_ref) == ("tg-card-1", "ch_stripe_1")
    # A Stars invoice sent before the switch, paid after it, is still a Stars payment.
    other = pay.ledger.create_order(user, "song-2", "preview-job")
    stray = card.record_payment(invoice_payload(other), "XTR", 100, "tg-stars-1")
    assert stray.granted and stray.payment.provider is Provider.STARS


async def test_stars_refund_goes_through_the_bot_callback_once(
    pay: Payments, stars: StarsPayments, order: Order
) -> None:
    calls: list[RefundRequest] = []

    async def refund_star_payment(request: RefundRequest) -> None:
        await asyncio.sleep(0.01)  # the Bot API round trip
        calls.append(request)

    stars.record_payment(invoice_payload(order), "XTR", 100, "tg-charge-9")
    # Without the bot's callback in this process the refund waits, pending.
    assert await pay.refunder.refund_order(order.id, "job failed", "worker") is (RefundStatus.PENDING)
    assert calls == []
    pay.refunder.register(Provider.STARS, refund_star_payment)
    results = await asyncio.gather(pay.refunder.retry_pending(), pay.refunder.retry_pending())
    assert [s for r in results for s in r].count(RefundStatus.REFUNDED) == 1
    assert len(calls) == 1
    assert (calls[0].platform_user_id, calls[0].payment.charge_id, calls[0].payment.amount) == (
        "4242",
        "tg-charge-9",
        100,
    )
    assert pay.ledger.get_order(order.id).state is OrderState.REFUNDED
    assert await pay.refunder.refund_order(order.id, "job failed", "worker") is (RefundStatus.SKIPPED)


async def test_stars_payment_for_a_paid_order_is_sent_back(
    pay: Payments, stars: StarsPayments, order: Order
) -> None:
    refunded: list[str] = []

    async def refund_star_payment(request: RefundRequest) -> None:
        refunded.append(request.payment.charge_id)

    pay.refunder.register(Provider.STARS, refund_star_payment)
    payload = invoice_payload(order)
    stars.record_payment(payload, "XTR", 100, "tg-charge-1")
    dup = stars.record_payment(payload, "XTR", 100, "tg-charge-2")
    assert dup.needs_refund
    assert await pay.refunder.refund_payment(dup.payment.id, "duplicate", "telegram") is (
        RefundStatus.REFUNDED
    )
    assert refunded == ["tg-charge-2"]
    assert pay.ledger.get_order(order.id).state is OrderState.PAID


async def test_stars_for_no_order_go_back_to_the_payer_once(
    pay: Payments, stars: StarsPayments, user: User, order: Order
) -> None:
    """An invoice whose order this database does not have (restored from an old backup), and a
    payload that is not ours at all from someone we never met: both refunded to who paid."""
    refunded: list[tuple[str | None, str]] = []

    async def refund_star_payment(request: RefundRequest) -> None:
        refunded.append((request.platform_user_id, request.payment.charge_id))

    pay.refunder.register(Provider.STARS, refund_star_payment)
    ghost = replace(order, id="e" * 32)  # the invoice of an order this database lacks
    lost = stars.record_payment(invoice_payload(ghost), "XTR", 100, "tg-lost", payer_id=TG_USER)
    odd = stars.record_payment("not-ours", "XTR", 7, "tg-odd", payer_id=999_001)
    for result in (lost, odd):
        assert result.outcome is PaidOutcome.UNKNOWN_ORDER and result.needs_refund
        assert result.order is None and result.payment.order_id is None
    assert lost.payment.user_id == user.id
    assert pay.users.get("telegram", 999_001).id == odd.payment.user_id  # the stranger, recorded
    for result in (lost, odd):
        statuses = await asyncio.gather(
            pay.refunder.refund_payment(result.payment.id, "no order", "telegram"),
            pay.refunder.refund_payment(result.payment.id, "no order", "telegram"),
        )
        assert sorted(statuses) == [RefundStatus.REFUNDED, RefundStatus.SKIPPED]
    assert refunded == [(str(TG_USER), "tg-lost"), ("999001", "tg-odd")]
    replay = stars.record_payment(invoice_payload(ghost), "XTR", 100, "tg-lost", payer_id=TG_USER)
    assert replay.outcome is PaidOutcome.REPLAY and not replay.needs_refund
    figures = pay.feedback.stats()
    assert (figures.unmatched_refunded, figures.unmatched_open) == (2, 0)


def test_an_unpaid_order_follows_the_latest_preview_of_its_song(
    pay: Payments, stars: StarsPayments, user: User, order: Order, stored: set[str]
) -> None:
    """Issue 21, defect 2: the person tapped Buy, did not pay, the preview's song expired, and
    they sent the same song again: the unpaid order now names the new preview, so it can be
    paid (and the paid job runs on the song that is stored)."""
    stored.clear()  # the first preview's upload is gone (retention)
    payload = invoice_payload(order)
    assert stars.check_pre_checkout(TG_USER, payload, "XTR", 100).error_message == MSG_GONE
    stored.add("preview-job-2")
    again = pay.ledger.create_order(user, "song-hash", "preview-job-2")
    assert (again.id, again.job_id) == (order.id, "preview-job-2")
    assert pay.ledger.get_order(order.id).job_id == "preview-job-2"
    assert stars.check_pre_checkout(TG_USER, payload, "XTR", 100).ok
    paid = stars.record_payment(payload, "XTR", 100, "stars-charge-latest")
    assert paid.granted and paid.order.job_id == "preview-job-2"
    # Once paid it is fixed: a later preview of the same song changes nothing.
    assert pay.ledger.create_order(user, "song-hash", "preview-job-3").job_id == "preview-job-2"
    actions = [e.action for e in pay.ledger.entries(order.id)]
    assert actions == ["order_created", "preview_chosen", "paid"]


async def test_a_stars_refund_after_forget_reaches_the_payer_once(
    pay: Payments, stars: StarsPayments, user: User, order: Order
) -> None:
    """Issue 21, defect 6: the payer's id is kept on their payment records (a Stars refund needs
    it), so an admin's refund of a delivered order after /forget goes to who paid, once."""
    sent: list[tuple[str | None, str]] = []

    async def refund_star_payment(request: RefundRequest) -> None:
        sent.append((request.platform_user_id, request.payment.charge_id))

    pay.refunder.register(Provider.STARS, refund_star_payment)
    paid = stars.record_payment(invoice_payload(order), "XTR", 100, "tg-kept-1", payer_id=TG_USER)
    assert paid.granted
    pay.ledger.mark_delivered(order.id)
    assert pay.forget("telegram", TG_USER).forgotten
    status = await pay.refunder.refund_order(order.id, "admin", "admin:1", allow_delivered=True)
    assert status is RefundStatus.REFUNDED
    assert sent == [(str(TG_USER), "tg-kept-1")]
    assert pay.ledger.get_order(order.id).state is OrderState.REFUNDED
    assert await pay.refunder.retry_pending() == []


async def test_forget_waits_for_the_refund_of_a_payment_that_matched_no_order(
    pay: Payments, stars: StarsPayments, user: User, order: Order
) -> None:
    """A payment for no order is the payer's money in flight too: /forget waits for its refund."""
    ghost = replace(order, id="d" * 32)
    lost = stars.record_payment(invoice_payload(ghost), "XTR", 100, "tg-ghost", payer_id=TG_USER)
    assert lost.needs_refund
    assert not pay.forget("telegram", TG_USER).forgotten  # captured, to be refunded
    assert await pay.refunder.refund_payment(lost.payment.id, "no order", "telegram") is (
        RefundStatus.PENDING  # no Stars refunder in this process yet
    )
    assert not pay.forget("telegram", TG_USER).forgotten


async def test_a_refund_that_fails_the_same_way_is_noted_once_not_every_round(
    pay: Payments, stars: StarsPayments, order: Order
) -> None:
    """Never loop: retrying a refund that keeps failing for the same reason adds no ledger line
    per round (one per distinct failure); the retry goes on, the ledger does not grow."""

    async def refusing(request: RefundRequest) -> None:
        raise RuntimeError("Bad Request: USER_ID_INVALID")

    stars.record_payment(invoice_payload(order), "XTR", 100, "tg-stuck-1", payer_id=TG_USER)
    pay.refunder.register(Provider.STARS, refusing)
    assert await pay.refunder.refund_order(order.id, "job failed", "worker") is RefundStatus.PENDING
    for _ in range(3):
        assert await pay.refunder.retry_pending() == [RefundStatus.PENDING]
    actions = [e.action for e in pay.ledger.entries(order.id)]
    assert actions.count("refund_failed") == 1
