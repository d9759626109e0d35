"""The Stripe webhook endpoint: signatures, replays, concurrency, ordering, refunds.

Events are signed with the SDK's own ``WebhookSignature.generate_signature_header`` and posted
over HTTP to the real aiohttp app; refunds go through the real SDK to the loopback stub.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from db.tables import EntitlementRow, LedgerEntryRow, PaymentRow, ProviderEventRow
from payments import (
    FulfilmentImpossible,
    Order,
    OrderState,
    Payments,
    PaymentStatus,
    Provider,
    RefundStatus,
    StripeCheckout,
)
from people import User
from tests.payments.conftest import OUR_MARKER, STRIPE_KEY, session_object, sign, stripe_event
from tests.payments.test_store import count
from tests.support.stripe_stub import StripeStub
from web.server import build_app
from web.stripe_endpoint import STRIPE_WEBHOOK_PATH, StripeWebhook


@dataclass
class Service:
    client: TestClient
    webhook: StripeWebhook
    pay: Payments
    stub: StripeStub
    started: list[str] = field(default_factory=list)
    fail_with: Exception | None = None

    def on_paid(self, order: Order) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.started.append(order.id)

    async def post(self, payload: str, signature: str | None = "sign") -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            signature = sign(payload)
        if signature is not None:
            headers["Stripe-Signature"] = signature
        resp = await self.client.post(STRIPE_WEBHOOK_PATH, data=payload, headers=headers)
        return resp.status, await resp.json()


@pytest.fixture
async def service(pay: Payments, stripe_stub: StripeStub) -> AsyncIterator[Service]:
    checkout = StripeCheckout(
        replace(pay.settings, stripe_api_key=STRIPE_KEY, stripe_api_base=stripe_stub.url)
    )
    pay.refunder.register(Provider.STRIPE, checkout.refund)
    holder: list[Service] = []
    app, webhook = build_app(pay, pay.fulfilment(lambda order: holder[0].on_paid(order)))
    client = TestClient(TestServer(app))
    await client.start_server()
    svc = Service(client, webhook, pay, stripe_stub)
    holder.append(svc)
    try:
        yield svc
    finally:
        await client.close()


@pytest.fixture
def order(pay: Payments, user: User) -> Order:
    return pay.ledger.create_order(user, "song-hash", "preview-job")


def grants(pay: Payments) -> int:
    return count(pay, EntitlementRow)


async def test_valid_event_grants_once(service: Service, order: Order) -> None:
    payload = stripe_event("checkout.session.completed", session_object(order.id))
    status, body = await service.post(payload)
    assert (status, body["outcome"]) == (200, "granted")
    assert service.started == [order.id]
    assert grants(service.pay) == 1
    paid = service.pay.ledger.get_order(order.id)
    assert paid.state is OrderState.PAID and paid.fulfil_attempts == 1


@pytest.mark.parametrize("attack", ["forged", "stale", "changed_body", "missing", "garbage"])
async def test_bad_signatures_are_rejected_without_effect(
    service: Service, order: Order, attack: str
) -> None:
    payload = stripe_event("checkout.session.completed", session_object(order.id))
    signature: str | None = sign(payload)
    if attack == "forged":
        signature = sign(payload, secret="whsec_attacker")
    elif attack == "stale":
        signature = sign(payload, timestamp=int(time.time()) - 3600)
    elif attack == "changed_body":
        payload = payload.replace('"amount_total": 199', '"amount_total": 1')
    elif attack == "missing":
        signature = None
    elif attack == "garbage":
        signature = "t=abc,v1=zzz"
    status, body = await service.post(payload, signature)
    assert status == 400 and "invalid" in body["error"]
    assert service.started == []
    assert grants(service.pay) == 0
    assert count(service.pay, ProviderEventRow) == 0
    assert service.pay.ledger.get_order(order.id).state is OrderState.CREATED


async def test_signed_non_json_body_is_rejected(service: Service) -> None:
    status, _ = await service.post("not json at all")
    assert status == 400


async def test_same_event_twice_grants_once(service: Service, order: Order) -> None:
    payload = stripe_event("checkout.session.completed", session_object(order.id))
    assert (await service.post(payload))[1]["outcome"] == "granted"
    assert (await service.post(payload))[1]["outcome"] == "replay"
    assert service.started == [order.id]
    assert grants(service.pay) == 1


async def test_concurrent_deliveries_grant_once(service: Service, order: Order) -> None:
    session = session_object(order.id)
    same = stripe_event("checkout.session.completed", session)
    twin = stripe_event("checkout.session.async_payment_succeeded", session)  # same payment
    results = await asyncio.gather(*(service.post(p) for p in [same] * 5 + [twin] * 3))
    outcomes = [body["outcome"] for status, body in results if status == 200]
    assert len(outcomes) == 8
    assert outcomes.count("granted") == 1
    assert set(outcomes) <= {"granted", "replay", "already_recorded"}
    assert service.started == [order.id]
    assert grants(service.pay) == 1
    assert count(service.pay, ProviderEventRow) == 2


async def test_async_payment_events_out_of_order(service: Service, order: Order) -> None:
    """A bank debit: ``completed`` (unpaid) and ``async_payment_succeeded`` in either order."""
    session = session_object(order.id, payment_status="unpaid")
    succeeded = stripe_event(
        "checkout.session.async_payment_succeeded", {**session, "payment_status": "paid"}
    )
    completed = stripe_event("checkout.session.completed", session)
    assert (await service.post(succeeded))[1]["outcome"] == "granted"
    assert (await service.post(completed))[0] == 200  # arrives late: changes nothing
    order_now = service.pay.ledger.get_order(order.id)
    assert order_now.state is OrderState.PAID
    assert service.started == [order.id]
    assert grants(service.pay) == 1


async def test_unpaid_completion_waits_and_failure_keeps_order_open(service: Service, order: Order) -> None:
    session = session_object(order.id, payment_status="unpaid")
    assert (await service.post(stripe_event("checkout.session.completed", session)))[0] == 200
    failed = stripe_event("checkout.session.async_payment_failed", session)
    assert (await service.post(failed))[0] == 200
    assert service.pay.ledger.get_order(order.id).state is OrderState.CREATED
    assert grants(service.pay) == 0
    actions = [e.action for e in service.pay.ledger.entries(order.id)]
    assert actions == ["order_created", "awaiting_payment", "payment_failed"]
    # The buyer tries again with a card: a new session pays the same order.
    retry = stripe_event("checkout.session.completed", session_object(order.id))
    assert (await service.post(retry))[1]["outcome"] == "granted"


async def test_second_payment_for_paid_order_is_refunded(
    service: Service, order: Order, stripe_stub: StripeStub
) -> None:
    first = session_object(order.id)
    second = session_object(order.id)  # a second, older checkout tab also paid
    assert (await service.post(stripe_event("checkout.session.completed", first)))[1]["outcome"] == "granted"
    status, body = await service.post(stripe_event("checkout.session.completed", second))
    assert (status, body["outcome"]) == (200, "duplicate")
    refunds = stripe_stub.calls("/v1/refunds")
    assert [r.form["payment_intent"] for r in refunds] == [second["payment_intent"]]
    payments = service.pay.ledger.payments_for(order.id)
    assert [p.status for p in payments] == [PaymentStatus.CAPTURED, PaymentStatus.REFUNDED]
    assert service.pay.ledger.get_order(order.id).state is OrderState.PAID
    assert service.started == [order.id]


async def test_wrong_amount_is_refunded_not_granted(
    service: Service, order: Order, stripe_stub: StripeStub
) -> None:
    session = session_object(order.id, amount_total=50)
    status, body = await service.post(stripe_event("checkout.session.completed", session))
    assert (status, body["outcome"]) == (200, "mismatch")
    assert len(stripe_stub.calls("/v1/refunds")) == 1
    assert grants(service.pay) == 0 and service.started == []


async def test_foreign_and_unhandled_events_are_stored_and_ignored(service: Service, order: Order) -> None:
    foreign = session_object(order.id, client_reference_id=None, metadata={})
    other = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    for payload, outcome in (
        (stripe_event("checkout.session.completed", foreign), "not_ours"),
        (other, "recorded"),
    ):
        status, body = await service.post(payload)
        assert (status, body["outcome"]) == (200, outcome)
    assert count(service.pay, ProviderEventRow) == 2
    assert grants(service.pay) == 0


async def test_paid_job_failure_refunds_once(service: Service, order: Order, stripe_stub: StripeStub) -> None:
    session = session_object(order.id)
    await service.post(stripe_event("checkout.session.completed", session))
    # The FAILED event reaches two bot replicas (and a retry) at once.
    statuses = await asyncio.gather(
        *(service.pay.refunder.refund_order(order.id, "job failed", "telegram") for _ in range(4))
    )
    assert sorted(statuses) == [RefundStatus.REFUNDED] + [RefundStatus.SKIPPED] * 3
    refunds = stripe_stub.calls("/v1/refunds")
    assert len(refunds) == 1 and refunds[0].form["payment_intent"] == session["payment_intent"]
    refunded = service.pay.ledger.get_order(order.id)
    assert refunded.state is OrderState.REFUNDED
    assert not service.pay.ledger.is_entitled(refunded.user_id, "song-hash")
    entries = [e.action for e in service.pay.ledger.entries(order.id)]
    assert entries[-2:] == ["refund_requested", "refunded"]


async def test_refund_outage_stays_pending_then_retries_with_same_key(
    service: Service, order: Order, stripe_stub: StripeStub
) -> None:
    await service.post(stripe_event("checkout.session.completed", session_object(order.id)))
    stripe_stub.fail_refunds = 10  # more than the SDK's own retries
    status = await service.pay.refunder.refund_order(order.id, "job failed", "system")
    assert status is RefundStatus.PENDING
    assert service.pay.ledger.get_order(order.id).state is OrderState.REFUND_PENDING
    stripe_stub.fail_refunds = 0
    assert await service.pay.refunder.retry_pending() == [RefundStatus.REFUNDED]
    assert service.pay.ledger.get_order(order.id).state is OrderState.REFUNDED
    keys = {r.headers["Idempotency-Key"] for r in stripe_stub.calls("/v1/refunds")}
    assert len(keys) == 1


async def test_fulfilment_failure_is_retried_and_impossible_is_refunded(
    service: Service, user: User, stripe_stub: StripeStub
) -> None:
    pay = service.pay
    flaky = pay.ledger.create_order(user, "song-1", "job-1")
    service.fail_with = ConnectionError("queue down")
    await service.post(stripe_event("checkout.session.completed", session_object(flaky.id)))
    assert pay.ledger.get_order(flaky.id).state is OrderState.PAID  # kept, not lost
    assert service.webhook.failed_starts == {flaky.id}
    service.fail_with = None
    await service.webhook.retry_failed_starts()
    assert service.started == [flaky.id] and service.webhook.failed_starts == set()

    gone = pay.ledger.create_order(user, "song-2", "job-2")
    service.fail_with = FulfilmentImpossible("song expired")
    await service.post(stripe_event("checkout.session.completed", session_object(gone.id)))
    assert pay.ledger.get_order(gone.id).state is OrderState.REFUNDED
    assert len(stripe_stub.calls("/v1/refunds")) == 1


async def test_landing_pages_change_nothing(service: Service, order: Order) -> None:
    resp = await service.client.get(f"/checkout/done?order={order.id}")
    assert resp.status == 200 and "Thank you" in await resp.text()
    resp = await service.client.get("/checkout/cancelled")
    assert resp.status == 200
    assert service.pay.ledger.get_order(order.id).state is OrderState.CREATED
    assert (await service.client.get("/healthz")).status == 200


def test_event_json_is_what_stripe_sends(order: Order) -> None:
    event = json.loads(stripe_event("checkout.session.completed", session_object(order.id)))
    assert event["object"] == "event" and event["data"]["object"]["object"] == "checkout.session"


async def test_payment_for_no_order_is_refunded_once_and_shown_to_admins(
    service: Service, stripe_stub: StripeStub
) -> None:
    """A Checkout Session of ours (our order id in it) whose order this database lacks — the
    bot wrote it to another database, or a backup was restored: the money goes back, once."""
    session = session_object("d" * 32)
    completed = stripe_event("checkout.session.completed", session)
    status, body = await service.post(completed)
    assert (status, body["outcome"]) == (200, "unknown_order")
    assert (await service.post(completed))[1]["outcome"] == "replay"
    late = stripe_event("checkout.session.async_payment_succeeded", session)
    assert (await service.post(late))[1]["outcome"] == "already_recorded"
    refunds = stripe_stub.calls("/v1/refunds")
    assert [r.form["payment_intent"] for r in refunds] == [session["payment_intent"]]
    (payment,) = service.pay.ledger.unmatched_payments()
    assert payment.status is PaymentStatus.REFUNDED and payment.refund_ref
    with service.pay.db.read() as db_session:
        actions = [
            row.action
            for row in db_session.scalars(
                select(LedgerEntryRow).where(LedgerEntryRow.payment_id == payment.id)
            )
        ]
    assert actions == ["payment_unknown_order", "refund_requested", "refunded"]
    figures = service.pay.stats()
    assert (figures.unmatched_refunded, figures.unmatched_open) == (1, 0)
    assert grants(service.pay) == 0 and service.started == []


@pytest.mark.parametrize("foreign", ["no_metadata", "their_order_metadata", "other_environment"])
async def test_another_integrations_session_on_a_shared_account_is_ignored_not_refunded(
    service: Service, stripe_stub: StripeStub, caplog: pytest.LogCaptureFixture, foreign: str
) -> None:
    """A Stripe account shared with another integration (or with our own staging deployment):
    Stripe sends every endpoint every paid session of the account. Only sessions carrying our
    marker (our app and this deployment's environment) are ours; another one — here a €49
    session with its own ``client_reference_id`` — is logged and left alone: no refund, no
    payment row, no ledger entry."""
    theirs = "their-order-4711"
    metadata = {
        "no_metadata": {},
        "their_order_metadata": {"order_id": theirs},
        "other_environment": {**OUR_MARKER, "env": "staging", "order_id": theirs},
    }[foreign]
    session = session_object(
        theirs, amount_total=4900, amount_subtotal=4900, currency="eur", metadata=metadata
    )
    for event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        with caplog.at_level(logging.INFO, logger="web.server"):
            status, body = await service.post(stripe_event(event_type, session))
        assert (status, body["outcome"]) == (200, "not_ours")
    assert session["id"] in caplog.text and "not ours" in caplog.text
    assert stripe_stub.calls("/v1/refunds") == []
    assert service.pay.ledger.unmatched_payments() == []
    assert count(service.pay, PaymentRow) == 0 and count(service.pay, LedgerEntryRow) == 0
    assert count(service.pay, ProviderEventRow) == 2  # stored, so a replay is a replay
    assert grants(service.pay) == 0 and service.started == []


async def test_a_session_opened_before_the_marker_is_still_ours(service: Service, order: Order) -> None:
    """A session opened by the previous version (no marker) that is paid after the upgrade: the
    ledger holds its id on the order it names, so it is ours and grants."""
    session = session_object(order.id, metadata={"order_id": order.id})
    service.pay.ledger.attach_checkout_session(order.id, session["id"])
    status, body = await service.post(stripe_event("checkout.session.completed", session))
    assert (status, body["outcome"]) == (200, "granted")
    assert service.started == [order.id]
    # The same unmarked session naming an order that never opened it is not ours.
    other = session_object(order.id, metadata={"order_id": order.id})
    status, body = await service.post(stripe_event("checkout.session.completed", other))
    assert (status, body["outcome"]) == (200, "not_ours")
