"""Immutable values handed out by the store.

Callers (bots, webhook, worker) get frozen dataclasses, never ORM rows: a row outlives its session
badly (lazy loads, stale state), a snapshot does not.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from payments.models import (
    AccessLevel,
    LedgerEntryRow,
    OrderRow,
    OrderState,
    PaymentRow,
    PaymentStatus,
    Provider,
    UserRow,
)

# What an order buys. One kind today (full-length stems of one song); the column allows more.
KIND_FULL_STEMS = "full_stems"
STARS_CURRENCY = "XTR"


@dataclass(frozen=True)
class User:
    id: int
    platform: str
    platform_user_id: str
    level: AccessLevel
    banned: bool
    created_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.level is AccessLevel.ADMIN

    @property
    def actor(self) -> str:
        """How this user appears in the ledger: internal id, never the platform id or a name."""
        return f"user:{self.id}"

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            id=row.id,
            platform=row.platform,
            platform_user_id=row.platform_user_id,
            level=AccessLevel(row.level),
            banned=row.banned,
            created_at=row.created_at,
        )


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
    stripe_session_id: str | None
    fulfil_attempts: int
    fulfil_job_id: str | None
    created_at: datetime
    paid_at: datetime | None
    delivered_at: datetime | None

    @property
    def payable(self) -> bool:
        return self.state is OrderState.CREATED

    @classmethod
    def from_row(cls, row: OrderRow) -> Order:
        return cls(
            id=row.id,
            user_id=row.user_id,
            song_key=row.song_key,
            kind=row.kind,
            job_id=row.job_id,
            state=OrderState(row.state),
            price_cents=row.price_cents,
            currency=row.currency,
            price_stars=row.price_stars,
            stripe_session_id=row.stripe_session_id,
            fulfil_attempts=row.fulfil_attempts,
            fulfil_job_id=row.fulfil_job_id,
            created_at=row.created_at,
            paid_at=row.paid_at,
            delivered_at=row.delivered_at,
        )


@dataclass(frozen=True)
class Payment:
    id: int
    order_id: str
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
        return cls(
            id=row.id,
            order_id=row.order_id,
            provider=Provider(row.provider),
            charge_id=row.charge_id,
            provider_ref=row.provider_ref,
            amount=row.amount,
            currency=row.currency,
            granted=row.granted,
            status=PaymentStatus(row.status),
            refund_ref=row.refund_ref,
            created_at=row.created_at,
        )


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
        return cls(
            id=row.id,
            order_id=row.order_id,
            payment_id=row.payment_id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            from_state=row.from_state,
            to_state=row.to_state,
            amount=row.amount,
            currency=row.currency,
            ref=row.ref,
            detail=row.detail,
        )


@dataclass(frozen=True)
class IncomingPayment:
    """A provider's report that money arrived, normalised for ``Ledger.record_payment``."""

    provider: Provider
    order_id: str
    # Stripe: PaymentIntent id; Stars: telegram_payment_charge_id. Unique per provider.
    charge_id: str
    amount: int
    currency: str
    # Unique id of the notification (Stripe event id; Stars: derived from the charge id).
    event_id: str
    event_type: str
    provider_ref: str | None = None


class PaidOutcome(enum.StrEnum):
    GRANTED = "granted"  # first valid payment: order is now paid, entitlement granted
    REPLAY = "replay"  # this notification was processed before: nothing happens
    ALREADY_RECORDED = "already_recorded"  # same charge via another notification: nothing
    DUPLICATE = "duplicate"  # order was already paid/closed: money must go back
    MISMATCH = "mismatch"  # amount or currency differ from the order: money must go back
    UNKNOWN_ORDER = "unknown_order"  # no such order here (other environment?): logged only


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
        return self.outcome in (PaidOutcome.DUPLICATE, PaidOutcome.MISMATCH)


@dataclass(frozen=True)
class RefundRequest:
    """Everything a provider's refund call needs; ``idempotency_key`` is stable per payment."""

    payment_id: int
    order_id: str
    provider: Provider
    charge_id: str
    amount: int
    currency: str
    platform: str
    platform_user_id: str
    reason: str

    @property
    def idempotency_key(self) -> str:
        return f"refund-payment-{self.payment_id}"
