"""Immutable values handed out by the store.

Callers (bots, the web server, the worker) get frozen dataclasses, never ORM rows: a row outlives its session
badly (lazy loads, stale state), a snapshot does not.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from db.snapshot import snapshot
from db.tables import (
    LedgerEntryRow,
    OrderRow,
    OrderState,
    PaymentRow,
    PaymentStatus,
    Provider,
)

# What an order buys. One kind today (full-length stems of one song); the column allows more.
KIND_FULL_STEMS = "full_stems"
STARS_CURRENCY = "XTR"


def price_in(provider: Provider, price_stars: int, price_cents: int, currency: str) -> tuple[int, str]:
    """(amount, currency) through ``provider``: Stars are their own currency; every card path
    (a Checkout link, a card invoice in Telegram) pays the price in cents of ``currency``."""
    if provider is Provider.STARS:
        return price_stars, STARS_CURRENCY
    return price_cents, currency


@dataclass(frozen=True)
class Order:
    id: str
    user_id: int
    song_key: str
    kind: str
    job_id: str
    state: OrderState
    price_cents: int
    currency: str
    price_stars: int
    output_format: str | None  # the stems' format the buyer chose; None: pipeline default
    karaoke: str | None  # the karaoke variant the buyer chose (compact form); None: stems only
    stripe_session_id: str | None
    fulfil_attempts: int
    fulfil_job_id: str | None
    created_at: datetime
    paid_at: datetime | None
    delivered_at: datetime | None

    @property
    def payable(self) -> bool:
        return self.state is OrderState.CREATED

    def price_for(self, provider: Provider) -> tuple[int, str]:
        """(amount, currency) a payment through ``provider`` must bring for this order."""
        return price_in(provider, self.price_stars, self.price_cents, self.currency)

    @classmethod
    def from_row(cls, row: OrderRow) -> Order:
        return snapshot(cls, row, state=OrderState)


@dataclass(frozen=True)
class Payment:
    id: int
    order_id: str | None  # None: it matched no order (refunded automatically)
    user_id: int | None  # the payer, when known
    provider: Provider
    charge_id: str
    provider_ref: str | None
    amount: int
    currency: str
    granted: bool
    status: PaymentStatus
    refund_ref: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: PaymentRow) -> Payment:
        return snapshot(cls, row, provider=Provider, status=PaymentStatus)


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    order_id: str | None
    payment_id: int | None
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    amount: int | None
    currency: str | None
    ref: str | None
    detail: str | None

    @classmethod
    def from_row(cls, row: LedgerEntryRow) -> LedgerEntry:
        return snapshot(cls, row)


@dataclass(frozen=True)
class IncomingPayment:
    """A provider's report that money arrived, normalised for ``Ledger.record_payment``."""

    provider: Provider
    order_id: str
    # Stripe: PaymentIntent id; Telegram: telegram_payment_charge_id. Unique per provider.
    charge_id: str
    amount: int
    currency: str
    # Unique id of the notification (Stripe event id; Telegram: derived from the charge id).
    event_id: str
    event_type: str
    # Stripe: the Checkout Session id; Telegram: provider_payment_charge_id.
    provider_ref: str | None = None
    # Who paid, as (platform, platform user id), when the provider says (Telegram does): a
    # payment that matches no order is refunded to them.
    payer: tuple[str, str] | None = None


class PaidOutcome(enum.StrEnum):
    GRANTED = "granted"  # first valid payment: order is now paid, entitlement granted
    REPLAY = "replay"  # this notification was processed before: nothing happens
    ALREADY_RECORDED = "already_recorded"  # same charge via another notification: nothing
    DUPLICATE = "duplicate"  # order was already paid/closed: money must go back
    MISMATCH = "mismatch"  # amount or currency differ from the order: money must go back
    UNKNOWN_ORDER = "unknown_order"  # names no order we have: recorded, money must go back


@dataclass(frozen=True)
class PaidResult:
    outcome: PaidOutcome
    order: Order | None
    payment: Payment | None

    @property
    def granted(self) -> bool:
        return self.outcome is PaidOutcome.GRANTED

    @property
    def needs_refund(self) -> bool:
        return self.outcome in (
            PaidOutcome.DUPLICATE,
            PaidOutcome.MISMATCH,
            PaidOutcome.UNKNOWN_ORDER,
        )


@dataclass(frozen=True)
class RefundRequest:
    """Everything a provider's refund call needs: the payment, whose it was, and why."""

    payment: Payment
    platform: str | None  # None: the payer is unknown (a Stripe payment that matches no order)
    platform_user_id: str | None
    reason: str

    @property
    def payment_id(self) -> int:
        return self.payment.id

    @property
    def provider(self) -> Provider:
        return self.payment.provider

    @property
    def idempotency_key(self) -> str:
        """Stable per payment, so a refund retried after a crash is one refund at the provider."""
        return f"refund-payment-{self.payment.id}"
