"""The Stripe webhook endpoint (``POST /stripe/webhook``): signed events in, payments recorded,
paid work started after the commit.

Webhook rules:

* the raw body is verified with ``stripe.Webhook.construct_event`` against
  ``STRIPE_WEBHOOK_SECRET`` (HMAC + timestamp tolerance); anything else gets 400 and no effect;
* every event id is stored; a replay (Stripe retries, duplicates, concurrent deliveries) is
  answered 200 and changes nothing;
* ``checkout.session.completed`` grants when ``payment_status`` is ``paid``; an asynchronous
  method (bank debit) grants on ``checkout.session.async_payment_succeeded``; events may arrive
  in any order - the ledger's uniqueness keys make the order irrelevant;
* a database error answers 500, so Stripe retries later (the event was not stored);
* only our own Checkout Sessions count (:meth:`StripeWebhook.ours`: our marker and
  ``STRIPE_ENVIRONMENT`` in the metadata): another integration's session on a shared Stripe
  account is stored as ``not_ours``, logged, and never refunded.

The HTTP server (:func:`web.server.build_app`) adds the route (:meth:`StripeWebhook.add_routes`).
"""

from __future__ import annotations

import asyncio
import logging

import stripe
from aiohttp import web

from db.tables import OrderState, Provider
from payments.fulfilment import Fulfilment
from payments.records import PaidResult
from payments.service import Payments
from payments.stripe_checkout import carries_marker, incoming_from_session

# The server's logger: the webhook's lines stay where operators' filters found them before the
# endpoint had its own module.
log = logging.getLogger("web.server")

STRIPE_WEBHOOK_PATH = "/stripe/webhook"
SIGNATURE_TOLERANCE_S = 300  # Stripe's recommended default: older signed bodies are replays

EVENT_COMPLETED = "checkout.session.completed"
EVENT_ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
EVENT_ASYNC_FAILED = "checkout.session.async_payment_failed"
EVENT_EXPIRED = "checkout.session.expired"
PAID_STATUSES = ("paid", "no_payment_required")
# What the webhook answers for an event that moved no money.
NOT_OURS = "not_ours"  # another integration's (or environment's) session: ignored
RECORDED = "recorded"


class StripeWebhook:
    """aiohttp handler for Stripe events; ``fulfilment`` starts paid work after the commit."""

    def __init__(
        self,
        payments: Payments,
        fulfilment: Fulfilment,
        secret: str,
        tolerance_s: int = SIGNATURE_TOLERANCE_S,
    ) -> None:
        self.payments = payments
        self.fulfilment = fulfilment
        self.secret = secret
        self.tolerance_s = tolerance_s
        self.failed_starts: set[str] = set()

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(STRIPE_WEBHOOK_PATH, self.handle)

    def ours(self, session: dict) -> bool:
        """Whether a Checkout Session is one this deployment opened: it carries our marker
        (``payments.stripe_checkout.session_marker``, with ``STRIPE_ENVIRONMENT``), or — a
        session opened before sessions were marked — the ledger holds its id on the order its
        ``client_reference_id`` names. Anything else belongs to another integration (or another
        environment) on the same Stripe account: it must be left alone, never refunded."""
        if carries_marker(session, self.payments.settings.stripe_environment):
            return True
        order_id, session_id = session.get("client_reference_id"), session.get("id")
        if not order_id or not session_id:
            return False
        order = self.payments.ledger.get_order(str(order_id))
        return order is not None and order.stripe_session_id == session_id

    def apply(self, event: dict) -> PaidResult | str:
        """Store the event and its effect in one transaction (runs in a worker thread). Returns
        the payment's result, or the outcome stored for an event that moved no money."""
        ledger = self.payments.ledger
        event_type = event["type"]
        obj = event["data"]["object"]
        session_event = event_type.startswith("checkout.session.")
        if session_event and not self.ours(obj):
            log.info(
                "Stripe %s %s: checkout session %s is not ours (no marker of environment %r); ignored",
                event_type,
                event["id"],
                obj.get("id"),
                self.payments.settings.stripe_environment,
            )
            ledger.record_event(Provider.STRIPE, event["id"], event_type, NOT_OURS)
            return NOT_OURS
        paid = event_type == EVENT_ASYNC_SUCCEEDED or (
            event_type == EVENT_COMPLETED and obj["payment_status"] in PAID_STATUSES
        )
        if paid:
            try:
                incoming = incoming_from_session(event["id"], event_type, obj)
            except ValueError:
                ledger.record_event(Provider.STRIPE, event["id"], event_type, NOT_OURS)
                return NOT_OURS
            return ledger.record_payment(incoming)
        order_id = obj.get("client_reference_id") if session_event else None
        outcome = {
            EVENT_COMPLETED: "awaiting_payment",
            EVENT_ASYNC_FAILED: "payment_failed",
            EVENT_EXPIRED: "checkout_expired",
        }.get(event_type, "ignored")
        ledger.record_event(Provider.STRIPE, event["id"], event_type, outcome, order_id)
        return RECORDED

    async def handle(self, request: web.Request) -> web.Response:
        payload = await request.read()
        try:
            event = stripe.Webhook.construct_event(
                payload, request.headers.get("Stripe-Signature"), self.secret, self.tolerance_s
            ).to_dict()
        except (ValueError, stripe.SignatureVerificationError) as exc:
            log.warning("rejected Stripe webhook: %s", type(exc).__name__)
            return web.json_response({"error": "invalid signature or payload"}, status=400)
        try:
            result = await asyncio.to_thread(self.apply, event)
        except (KeyError, TypeError) as exc:
            log.error("signed Stripe event %s is malformed: %r", event.get("id"), exc)
            return web.json_response({"error": "malformed event"}, status=400)
        except Exception:
            log.exception("could not store Stripe event %s; Stripe will retry", event.get("id"))
            return web.json_response({"error": "temporarily unavailable"}, status=500)
        if isinstance(result, str):
            return web.json_response({"received": True, "outcome": result})
        if result.granted and result.order is not None:
            if not await self.fulfilment.start(result.order, "stripe webhook"):
                self.failed_starts.add(result.order.id)
        elif result.needs_refund and result.payment is not None:
            await self.payments.refunder.refund_payment(
                result.payment.id, f"stripe payment {result.outcome.value}", "stripe"
            )
        return web.json_response({"received": True, "outcome": result.outcome.value})

    async def retry_failed_starts(self) -> None:
        """Retry fulfilment that could not be started (e.g. the queue was briefly down)."""
        for order_id in sorted(self.failed_starts):
            current = await asyncio.to_thread(self.payments.ledger.get_order, order_id)
            if current is None or current.state is not OrderState.PAID:
                self.failed_starts.discard(order_id)
                continue
            if current.fulfil_attempts >= self.payments.settings.max_fulfil_attempts:
                self.failed_starts.discard(order_id)
                await self.payments.refunder.refund_order(
                    order_id, "fulfilment could not be started", "system"
                )
                continue
            if await self.fulfilment.start(current, "retry after failed start"):
                self.failed_starts.discard(order_id)
