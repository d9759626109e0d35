"""Sending money back: the ledger decides *whether* (exactly once), a provider does *how*.

A refund is two transactions around one network call::

    begin (paid -> refund_pending, conditional)  ->  provider call  ->  complete (-> refunded)

Only the caller whose conditional update succeeded gets a ``RefundRequest``, so however often a
job failure is reported, or by how many processes, the provider is called once. If the call fails
or the process dies mid-way, the payment stays ``refund_pending`` and ``retry_pending`` (run at
start-up by recovery) sends it again with the same idempotency key - Stripe dedupes on that key;
a Stars refund callback must treat Telegram's "already refunded" answer as success.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Mapping

from db.tables import Provider
from payments.ledger import Ledger
from payments.records import RefundRequest

log = logging.getLogger(__name__)

# Sends the money back; returns the provider's refund reference (or None if it has none).
RefundFn = Callable[[RefundRequest], Awaitable[str | None]]


class RefundStatus(enum.StrEnum):
    REFUNDED = "refunded"  # the provider confirmed
    PENDING = "pending"  # started; the provider call failed or is not wired here: retried later
    SKIPPED = "skipped"  # nothing to do: never paid, or another caller already refunds it


class Refunder:
    """Refunds orders and stray payments through whichever providers this process has."""

    def __init__(self, ledger: Ledger, providers: Mapping[Provider, RefundFn] | None = None):
        self.ledger = ledger
        self._providers: dict[Provider, RefundFn] = dict(providers or {})
        # Payments whose provider call is running in this process (no self-overlap on retries).
        self._in_flight: set[int] = set()

    def register(self, provider: Provider, refund: RefundFn) -> None:
        """Add a provider later (the Telegram bot registers Stars once its Bot exists)."""
        self._providers[provider] = refund

    @property
    def providers(self) -> frozenset[Provider]:
        return frozenset(self._providers)

    async def refund_order(
        self, order_id: str, reason: str, actor: str = "system", *, allow_delivered: bool = False
    ) -> RefundStatus:
        """Refund a paid order (job failed, undeliverable); repeat calls are no-ops."""
        request = await asyncio.to_thread(
            self.ledger.begin_order_refund,
            order_id,
            reason,
            actor,
            allow_delivered=allow_delivered,
        )
        if request is None:
            return RefundStatus.SKIPPED
        return await self._send(request, actor)

    async def refund_payment(self, payment_id: int, reason: str, actor: str) -> RefundStatus:
        """Refund a payment that granted nothing (a second payment, or a wrong amount)."""
        request = await asyncio.to_thread(self.ledger.begin_payment_refund, payment_id, reason, actor)
        if request is None:
            return RefundStatus.SKIPPED
        return await self._send(request, actor)

    async def retry_pending(self, actor: str = "recovery") -> list[RefundStatus]:
        """Re-send refunds left pending by a crash or a provider error (own providers only)."""
        pending = await asyncio.to_thread(self.ledger.pending_refunds)
        return [
            await self._send(request, actor) for request in pending if request.provider in self._providers
        ]

    async def _send(self, request: RefundRequest, actor: str) -> RefundStatus:
        if request.payment_id in self._in_flight:
            return RefundStatus.PENDING
        self._in_flight.add(request.payment_id)
        try:
            return await self._call_provider(request, actor)
        finally:
            self._in_flight.discard(request.payment_id)

    async def _call_provider(self, request: RefundRequest, actor: str) -> RefundStatus:
        refund = self._providers.get(request.provider)
        if refund is None:
            await asyncio.to_thread(
                self.ledger.note_refund_failure,
                request.payment_id,
                f"no {request.provider.value} refund provider in this process",
                actor,
            )
            log.warning("refund of payment %s left pending: no provider", request.payment_id)
            return RefundStatus.PENDING
        try:
            ref = await refund(request)
        except Exception as exc:  # any provider failure leaves the refund pending
            log.error("refund of payment %s failed: %s", request.payment_id, exc)
            await asyncio.to_thread(self.ledger.note_refund_failure, request.payment_id, repr(exc), actor)
            return RefundStatus.PENDING
        await asyncio.to_thread(self.ledger.complete_refund, request.payment_id, ref, actor)
        log.info("payment %s refunded (%s)", request.payment_id, ref)
        return RefundStatus.REFUNDED
