"""SQLAlchemy 2 table definitions for everything persistent.

The schema itself is owned by the Alembic migrations in ``db/migrations``; these classes
must stay equal to it (a test compares them). Uniqueness that protects money lives here as DB
constraints, not as application checks, because only the database sees concurrent writers:

* ``payments (provider, charge_id)`` - one provider charge is recorded once;
* ``provider_events (provider, event_id)`` - one webhook/update is processed once;
* ``entitlements (order_id)`` - one order grants at most once;
* ``orders (user_id, song_key, kind) WHERE state <> 'refunded'`` - one live order per song.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The longest language code a user row holds (``texts.languages.CODE_MAX`` fits).
LANGUAGE_MAX = 8

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class AccessLevel(enum.StrEnum):
    FREE = "free"
    PAID = "paid"
    ADMIN = "admin"


class OrderState(enum.StrEnum):
    """created -> paid -> delivered, or paid -> refund_pending -> refunded."""

    CREATED = "created"
    PAID = "paid"
    DELIVERED = "delivered"
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"


class PaymentStatus(enum.StrEnum):
    CAPTURED = "captured"
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"


class Provider(enum.StrEnum):
    """Where money came from, which decides how it goes back."""

    STRIPE = "stripe"  # Stripe Checkout link; refunded through Stripe by PaymentIntent
    STARS = "stars"  # Telegram Stars invoice; refunded with refundStarPayment
    # A Telegram invoice paid by card through a payment-provider token (Stripe); refunded through
    # Stripe's API by the charge Telegram reports (provider_payment_charge_id).
    TELEGRAM_CARD = "telegram_card"
    # The local demo's payment (``python -m web.demo``, run by scripts/run.sh with no tokens):
    # no money moves, but the order is paid in the ledger as a real one, so the pages check as
    # in production. No refunder is registered for it: nothing can go back.
    DEMO = "demo"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UserRow(Base):
    """A chat user, keyed by platform id only: no names, no usernames (privacy)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(8), default=AccessLevel.FREE.value)
    banned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The language the person chose with /language (a ``texts.languages`` code); None: their
    # platform's. Cleared by /forget.
    language: Mapped[str | None] = mapped_column(String(LANGUAGE_MAX), nullable=True)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index(
            "uq_orders_live_song",
            "user_id",
            "song_key",
            "kind",
            unique=True,
            sqlite_where=text("state <> 'refunded'"),
            postgresql_where=text("state <> 'refunded'"),
        ),
        Index("ix_orders_state", "state"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    song_key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default=OrderState.CREATED.value)
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    price_stars: Mapped[int] = mapped_column(Integer)
    # The stems' format the buyer chose (wav/flac/mp3); None: the pipeline's default.
    output_format: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # The karaoke variant the buyer chose (KaraokeSettings compact form); None: stems only.
    karaoke: Mapped[str | None] = mapped_column(String(16), nullable=True)
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    fulfil_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The pipeline job currently producing this order's stems (set by the fulfilment hook).
    fulfil_job_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PaymentRow(Base):
    """Money that arrived. ``granted`` is false for a duplicate or mismatched payment, and for
    one that matches no order (``order_id`` NULL): all three are refunded."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("provider", "charge_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"), index=True, nullable=True)
    # The payer when known (the order's user; for an in-chat payment with no order, the sender):
    # what a refund of a payment with no order is addressed to.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    provider: Mapped[str] = mapped_column(String(16))
    # Stripe: the PaymentIntent id (what a refund needs); Telegram: telegram_payment_charge_id.
    charge_id: Mapped[str] = mapped_column(String(255))
    # Stripe: the Checkout Session id; Telegram: provider_payment_charge_id (card: Stripe's id).
    provider_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # A Stars payment's payer as the platform knows them (Telegram user id): refundStarPayment
    # needs it, so it stays with the payment record after /forget (accounting records are kept).
    payer_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    granted: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.CAPTURED.value)
    refund_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LedgerEntryRow(Base):
    """Append-only history of every money/state change (triggers forbid UPDATE and DELETE)."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    payment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(8), nullable=True)
    ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class EntitlementRow(Base):
    """The right to download one song's full stems; one per order, ever."""

    __tablename__ = "entitlements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    song_key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ProviderEventRow(Base):
    """Every Stripe event / Telegram payment update we processed: replays hit the primary key."""

    __tablename__ = "provider_events"

    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FeedbackRow(Base):
    """One rating per (user, job); a changed reaction overwrites the earlier one."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("user_id", "job_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    job_id: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64), index=True)
    rating: Mapped[int] = mapped_column(SmallInteger)
    source: Mapped[str] = mapped_column(String(16))
    value: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UsageRow(Base):
    """Previews used per user per UTC day: the free quota counter."""

    __tablename__ = "usage_daily"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    previews: Mapped[int] = mapped_column(Integer, default=0)


class AbuseMarkRow(Base):
    """What /forget keeps for abuse limits, and nothing else: a keyed HMAC of the platform id
    (``ABUSE_HMAC_SECRET``; no platform id, no user row) with the ban and today's previews. The
    person's next account takes them over (and the mark is deleted); marks that hold no ban
    and an earlier day are deleted at the next /forget."""

    __tablename__ = "abuse_marks"

    mark: Mapped[str] = mapped_column(String(64), primary_key=True)
    banned: Mapped[bool] = mapped_column(Boolean, default=False)
    day: Mapped[date] = mapped_column(Date)
    previews: Mapped[int] = mapped_column(Integer, default=0)
