"""Orders and their money: the order state machine plus its append-only ledger.

States::

    created --(payment)--> paid --(stems sent)--> delivered
                             \\--(job failed)--> refund_pending --(provider refunded)--> refunded

Every transition is one transaction that (1) changes the order with a conditional UPDATE
(``... WHERE state = <expected>``), and (2) appends a ledger entry saying who/what/when. The
conditional UPDATE is what makes transitions idempotent under concurrency: of two racing callers
exactly one sees ``rowcount == 1``; the other learns the order already moved.

Payments are recorded by ``record_payment``, keyed by the provider's event id *and* charge id,
both unique in the DB. A replayed or concurrent notification can therefore never grant twice.
Money that names no order we have (a database restored from an old backup, an order written to
another database) is recorded too, with no order and the payer if known, and comes back with
``needs_refund``: it is refunded like a duplicate, once, through the same conditional step.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.audit import append_entry
from db.database import Database, rowcount
from db.tables import (
    AccessLevel,
    EntitlementRow,
    LedgerEntryRow,
    OrderRow,
    OrderState,
    PaymentRow,
    PaymentStatus,
    Provider,
    ProviderEventRow,
    UserRow,
    utcnow,
)
from payments import payment_metrics
from payments.records import (
    KIND_FULL_STEMS,
    IncomingPayment,
    LedgerEntry,
    Order,
    PaidOutcome,
    PaidResult,
    Payment,
    RefundRequest,
)
from payments.settings import Settings
from people.abuse import restore_limits
from people.privacy import FORGOTTEN_PREFIX
from people.records import User

log = logging.getLogger(__name__)

SONG_KEY_MAX = 128
KNOWN_CHARGES_BATCH = 500  # charge ids per IN (...) query
JOB_ID_MAX = 128
FORMAT_MAX = 8  # orders.output_format: wav, flac, mp3 (the pipeline checks which)
KARAOKE_MAX = 16  # orders.karaoke: a KaraokeSettings compact form (at most 13 characters)


class OrderError(Exception):
    """An order operation that cannot happen (unknown order, wrong user, wrong state)."""


def _transition(
    session: Session,
    order_id: str,
    from_states: Iterable[OrderState],
    to_state: OrderState,
    **extra: Any,
) -> bool:
    """Move the order iff it is in one of ``from_states``; True when this call moved it."""
    moved = rowcount(
        session,
        update(OrderRow)
        .where(OrderRow.id == order_id, OrderRow.state.in_([s.value for s in from_states]))
        .values(state=to_state.value, updated_at=utcnow(), **extra),
    )
    return moved == 1


def _lock_order(session: Session, order_id: str) -> OrderRow | None:
    """Read the order, row-locked on PostgreSQL (SQLite's BEGIN IMMEDIATE already serialises)."""
    return session.scalars(select(OrderRow).where(OrderRow.id == order_id).with_for_update()).one_or_none()


def _choose(
    session: Session, user: User, order: OrderRow, field: str, value: str | None, action: str
) -> None:
    """Record a changed choice (format, karaoke) on an unpaid order: the journal entry and the new
    value together, so the ledger always says who changed what from what."""
    before = getattr(order, field)
    if before == value:
        return
    append_entry(
        session, actor=user.actor, action=action, order_id=order.id, detail={"from": before, "to": value}
    )
    setattr(order, field, value)
    order.updated_at = utcnow()


def _payer_ref(session: Session, incoming: IncomingPayment, user_id: int | None) -> str | None:
    """Who a Stars payment must go back to, kept with the payment (also after /forget):
    ``refundStarPayment`` takes the payer's Telegram id. Other providers refund by charge and
    keep none."""
    if incoming.provider is not Provider.STARS:
        return None
    if incoming.payer is not None:
        return incoming.payer[1]
    user = session.get(UserRow, user_id) if user_id is not None else None
    if user is None or user.platform_user_id.startswith(FORGOTTEN_PREFIX):
        return None
    return user.platform_user_id


class Ledger:
    """Creates orders, records payments, drives delivery and refunds; all DB work, no network."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    # ----- orders ---------------------------------------------------------------------------

    def create_order(
        self,
        user: User,
        song_key: str,
        job_id: str,
        kind: str = KIND_FULL_STEMS,
        output_format: str | None = None,
        karaoke: str | None = None,
    ) -> Order:
        """The one live order for (user, song, kind); created at today's prices if none exists.

        Pressing "buy" twice, or on two devices at once, yields the same order (the partial unique
        index picks the winner). A refunded order does not block buying the song again.
        ``output_format`` is the buyer's choice for the stems (None: the pipeline's default); an
        unpaid order takes the latest choice, since the latest invoice names it. ``karaoke`` is
        the buyer's karaoke variant (a ``KaraokeSettings`` compact form; None: stems only), part
        of the same order at the same price, and likewise follows the latest choice while unpaid.
        So does ``job_id``, the preview the order pays for: an unpaid order follows the person's
        latest preview of the song, so the song the paid job needs is the one stored now (an
        order kept on its first preview could never be paid once that upload expired).
        """
        if not song_key or len(song_key) > SONG_KEY_MAX:
            raise OrderError("song_key must be 1..128 characters")
        if not job_id or len(job_id) > JOB_ID_MAX:
            raise OrderError("job_id must be 1..128 characters")
        if output_format is not None and not 0 < len(output_format) <= FORMAT_MAX:
            raise OrderError(f"output_format must be 1..{FORMAT_MAX} characters")
        if karaoke is not None and not 0 < len(karaoke) <= KARAOKE_MAX:
            raise OrderError(f"karaoke must be 1..{KARAOKE_MAX} characters")

        def work(session: Session) -> Order:
            existing = session.scalars(
                select(OrderRow).where(
                    OrderRow.user_id == user.id,
                    OrderRow.song_key == song_key,
                    OrderRow.kind == kind,
                    OrderRow.state != OrderState.REFUNDED.value,
                )
            ).one_or_none()
            if existing is not None:
                if existing.state == OrderState.CREATED.value:  # unpaid: the latest choice wins
                    _choose(session, user, existing, "job_id", job_id, "preview_chosen")
                    if output_format is not None:
                        _choose(session, user, existing, "output_format", output_format, "format_chosen")
                    _choose(session, user, existing, "karaoke", karaoke, "karaoke_chosen")
                return Order.from_row(existing)
            row = OrderRow(
                id=uuid.uuid4().hex,
                user_id=user.id,
                song_key=song_key,
                kind=kind,
                job_id=job_id,
                state=OrderState.CREATED.value,
                price_cents=self.settings.price_cents,
                currency=self.settings.currency,
                price_stars=self.settings.price_stars,
                output_format=output_format,
                karaoke=karaoke,
                fulfil_attempts=0,
            )
            session.add(row)
            session.flush()
            append_entry(
                session,
                actor=user.actor,
                action="order_created",
                order_id=row.id,
                to_state=OrderState.CREATED.value,
                amount=row.price_cents,
                currency=row.currency,
                detail={
                    "kind": kind,
                    "job_id": job_id,
                    "price_stars": row.price_stars,
                    "output_format": output_format,
                    "karaoke": karaoke,
                },
            )
            return Order.from_row(row)

        return self.db.run(work)

    def get_order(self, order_id: str) -> Order | None:
        with self.db.read() as session:
            row = session.get(OrderRow, order_id)
            return Order.from_row(row) if row is not None else None

    def orders_in_state(self, *states: OrderState) -> list[Order]:
        with self.db.read() as session:
            rows = session.scalars(
                select(OrderRow)
                .where(OrderRow.state.in_([s.value for s in states]))
                .order_by(OrderRow.created_at)
            ).all()
            return [Order.from_row(r) for r in rows]

    def paid_undelivered(self) -> tuple[int, datetime | None]:
        """How many orders are paid but not yet delivered (nor being refunded), and when the
        longest-waiting of them was paid (None when there is none): the figure that must return
        to zero (``payments.gauges``)."""
        with self.db.read() as session:
            count, oldest = session.execute(
                select(func.count(OrderRow.id), func.min(OrderRow.paid_at)).where(
                    OrderRow.state == OrderState.PAID.value
                )
            ).one()
            return int(count), oldest

    def user_orders(self, user_id: int) -> list[Order]:
        with self.db.read() as session:
            rows = session.scalars(
                select(OrderRow).where(OrderRow.user_id == user_id).order_by(OrderRow.created_at)
            ).all()
            return [Order.from_row(r) for r in rows]

    def attach_checkout_session(self, order_id: str, session_id: str) -> None:
        """Remember the Stripe Checkout Session opened for an order (for support and audit)."""

        def work(session: Session) -> None:
            row = session.get(OrderRow, order_id)
            if row is None:
                raise OrderError(f"no order {order_id}")
            if row.stripe_session_id == session_id:
                return
            row.stripe_session_id = session_id
            row.updated_at = utcnow()
            append_entry(session, actor="stripe", action="checkout_opened", order_id=order_id, ref=session_id)

        self.db.run(work)

    def is_entitled(self, user_id: int, song_key: str, kind: str = KIND_FULL_STEMS) -> bool:
        with self.db.read() as session:
            found = session.scalar(
                select(func.count())
                .select_from(EntitlementRow)
                .where(
                    EntitlementRow.user_id == user_id,
                    EntitlementRow.song_key == song_key,
                    EntitlementRow.kind == kind,
                    EntitlementRow.revoked_at.is_(None),
                )
            )
            return bool(found)

    def entries(self, order_id: str) -> list[LedgerEntry]:
        with self.db.read() as session:
            rows = session.scalars(
                select(LedgerEntryRow).where(LedgerEntryRow.order_id == order_id).order_by(LedgerEntryRow.id)
            ).all()
            return [LedgerEntry.from_row(r) for r in rows]

    def payments_for(self, order_id: str) -> list[Payment]:
        with self.db.read() as session:
            rows = session.scalars(
                select(PaymentRow).where(PaymentRow.order_id == order_id).order_by(PaymentRow.id)
            ).all()
            return [Payment.from_row(r) for r in rows]

    # ----- payments ---------------------------------------------------------------------------

    def known_charges(self, provider: Provider, charge_ids: Iterable[str]) -> set[str]:
        """Which of these provider charges are recorded (recovery compares the provider's own
        record of payments with ours)."""
        wanted = sorted(set(charge_ids))
        found: set[str] = set()
        with self.db.read() as session:
            for start in range(0, len(wanted), KNOWN_CHARGES_BATCH):
                found.update(
                    session.scalars(
                        select(PaymentRow.charge_id).where(
                            PaymentRow.provider == provider.value,
                            PaymentRow.charge_id.in_(wanted[start : start + KNOWN_CHARGES_BATCH]),
                        )
                    )
                )
        return found

    def seen_event(self, provider: Provider, event_id: str) -> bool:
        with self.db.read() as session:
            return session.get(ProviderEventRow, (provider.value, event_id)) is not None

    def record_event(
        self,
        provider: Provider,
        event_id: str,
        event_type: str,
        outcome: str,
        order_id: str | None = None,
    ) -> bool:
        """Store a notification that changes no money (e.g. an unhandled type); False on replay."""

        def work(session: Session) -> bool:
            if session.get(ProviderEventRow, (provider.value, event_id)) is not None:
                return False
            session.add(
                ProviderEventRow(
                    provider=provider.value,
                    event_id=event_id,
                    event_type=event_type,
                    order_id=order_id,
                    outcome=outcome,
                )
            )
            if order_id is not None and session.get(OrderRow, order_id) is not None:
                append_entry(session, actor=provider.value, action=outcome, order_id=order_id, ref=event_id)
            return True

        return self.db.run(work)

    def record_payment(self, incoming: IncomingPayment) -> PaidResult:
        """Record money that arrived and, if it is the order's first valid payment, grant it.

        Exactly-once comes from the database: the notification id and the charge id are unique
        keys, checked and inserted in one transaction with the order row locked. Run it twice, or
        from two processes at once, and only one run returns ``GRANTED``.
        """
        provider = incoming.provider

        def work(session: Session) -> PaidResult:
            if session.get(ProviderEventRow, (provider.value, incoming.event_id)) is not None:
                row = session.get(OrderRow, incoming.order_id)
                return PaidResult(PaidOutcome.REPLAY, Order.from_row(row) if row else None, None)
            event = ProviderEventRow(
                provider=provider.value,
                event_id=incoming.event_id,
                event_type=incoming.event_type,
                order_id=incoming.order_id,
                outcome="pending",
            )
            session.add(event)
            session.flush()  # a concurrent twin fails here and re-runs as a replay

            order = _lock_order(session, incoming.order_id)
            known = session.scalars(
                select(PaymentRow).where(
                    PaymentRow.provider == provider.value,
                    PaymentRow.charge_id == incoming.charge_id,
                )
            ).one_or_none()
            if known is not None:
                event.outcome = PaidOutcome.ALREADY_RECORDED.value
                return PaidResult(
                    PaidOutcome.ALREADY_RECORDED,
                    Order.from_row(order) if order is not None else None,
                    Payment.from_row(known),
                )
            if order is None:
                event.order_id = None
                return self._record_unmatched(session, event, incoming)

            price, currency = Order.from_row(order).price_for(provider)
            if (incoming.amount, incoming.currency.lower()) != (price, currency.lower()):
                outcome = PaidOutcome.MISMATCH
            elif order.state == OrderState.CREATED.value:
                outcome = PaidOutcome.GRANTED
            else:
                outcome = PaidOutcome.DUPLICATE
            payment = PaymentRow(
                order_id=order.id,
                user_id=order.user_id,
                provider=provider.value,
                charge_id=incoming.charge_id,
                provider_ref=incoming.provider_ref,
                payer_ref=_payer_ref(session, incoming, order.user_id),
                amount=incoming.amount,
                currency=incoming.currency.lower(),
                granted=outcome is PaidOutcome.GRANTED,
                status=PaymentStatus.CAPTURED.value,
            )
            session.add(payment)
            session.flush()
            event.outcome = outcome.value
            if outcome is PaidOutcome.GRANTED:
                now = utcnow()
                if not _transition(session, order.id, [OrderState.CREATED], OrderState.PAID, paid_at=now):
                    raise AssertionError("locked order changed state under us")
                session.add(
                    EntitlementRow(
                        order_id=order.id,
                        user_id=order.user_id,
                        song_key=order.song_key,
                        kind=order.kind,
                        granted_at=now,
                    )
                )
                session.execute(
                    update(UserRow)
                    .where(UserRow.id == order.user_id, UserRow.level == AccessLevel.FREE.value)
                    .values(level=AccessLevel.PAID.value)
                )
                session.refresh(order)
            append_entry(
                session,
                actor=provider.value,
                action="paid" if outcome is PaidOutcome.GRANTED else f"payment_{outcome.value}",
                order_id=order.id,
                payment_id=payment.id,
                from_state=OrderState.CREATED.value if outcome is PaidOutcome.GRANTED else None,
                to_state=OrderState.PAID.value if outcome is PaidOutcome.GRANTED else None,
                amount=incoming.amount,
                currency=incoming.currency.lower(),
                ref=incoming.charge_id,
                detail={"event_id": incoming.event_id, "event_type": incoming.event_type},
            )
            return PaidResult(outcome, Order.from_row(order), Payment.from_row(payment))

        result = self.db.run(work)
        log.info("%s payment for order %s: %s", provider.value, incoming.order_id, result.outcome.value)
        payment_metrics.payment_recorded(provider.value, result)
        return result

    def _record_unmatched(
        self, session: Session, event: ProviderEventRow, incoming: IncomingPayment
    ) -> PaidResult:
        """A payment naming no order: kept with its payer (if known) for the refund."""
        payer = None
        if incoming.payer is not None:
            platform, platform_user_id = incoming.payer
            payer = session.scalars(
                select(UserRow).where(
                    UserRow.platform == platform, UserRow.platform_user_id == platform_user_id
                )
            ).one_or_none()
            if payer is None:  # someone who paid before ever talking to us: still theirs
                payer = UserRow(platform=platform, platform_user_id=platform_user_id)
                session.add(payer)
                session.flush()
                restore_limits(session, self.settings.abuse_key, payer)
        payment = PaymentRow(
            order_id=None,
            user_id=payer.id if payer is not None else None,
            provider=incoming.provider.value,
            charge_id=incoming.charge_id,
            provider_ref=incoming.provider_ref,
            payer_ref=_payer_ref(session, incoming, payer.id if payer is not None else None),
            amount=incoming.amount,
            currency=incoming.currency.lower(),
            granted=False,
            status=PaymentStatus.CAPTURED.value,
        )
        session.add(payment)
        session.flush()
        event.outcome = PaidOutcome.UNKNOWN_ORDER.value
        append_entry(
            session,
            actor=incoming.provider.value,
            action=f"payment_{PaidOutcome.UNKNOWN_ORDER.value}",
            payment_id=payment.id,
            amount=incoming.amount,
            currency=incoming.currency.lower(),
            ref=incoming.charge_id,
            detail={
                "event_id": incoming.event_id,
                "event_type": incoming.event_type,
                "order_id": incoming.order_id[:64],
            },
        )
        log.warning(
            "%s payment %s names unknown order %r: to be refunded",
            incoming.provider.value,
            incoming.charge_id,
            incoming.order_id[:64],
        )
        return PaidResult(PaidOutcome.UNKNOWN_ORDER, None, Payment.from_row(payment))

    def unmatched_payments(self) -> list[Payment]:
        """Payments that matched no order, oldest first (each refunded, or being refunded)."""
        with self.db.read() as session:
            rows = session.scalars(
                select(PaymentRow).where(PaymentRow.order_id.is_(None)).order_by(PaymentRow.id)
            ).all()
            return [Payment.from_row(r) for r in rows]

    # ----- fulfilment -------------------------------------------------------------------------

    def mark_delivered(self, order_id: str, actor: str = "system") -> bool:
        """paid -> delivered; True only for the call that moved it (repeat calls are harmless)."""

        def work(session: Session) -> bool:
            moved = _transition(
                session, order_id, [OrderState.PAID], OrderState.DELIVERED, delivered_at=utcnow()
            )
            if moved:
                append_entry(
                    session,
                    actor=actor,
                    action="delivered",
                    order_id=order_id,
                    from_state=OrderState.PAID.value,
                    to_state=OrderState.DELIVERED.value,
                )
            return moved

        return self.db.run(work)

    def note_fulfil_attempt(self, order_id: str, actor: str, detail: str) -> int:
        """Count one more (re)start of fulfilment for a paid order; returns the new count."""

        def work(session: Session) -> int:
            session.execute(
                update(OrderRow)
                .where(OrderRow.id == order_id, OrderRow.state == OrderState.PAID.value)
                .values(fulfil_attempts=OrderRow.fulfil_attempts + 1, updated_at=utcnow())
            )
            row = session.get(OrderRow, order_id)
            if row is None:
                raise OrderError(f"no order {order_id}")
            append_entry(
                session,
                actor=actor,
                action="fulfil_attempt",
                order_id=order_id,
                detail={"attempt": row.fulfil_attempts, "why": detail},
            )
            return row.fulfil_attempts

        return self.db.run(work)

    def swap_fulfil_job(
        self, order_id: str, expected: str | None, job_id: str, actor: str = "system"
    ) -> bool:
        """Compare-and-set the order's pipeline job id; False if someone else changed it first.

        This is how two processes recovering the same order agree on who submits its job.
        """

        def work(session: Session) -> bool:
            current = (
                OrderRow.fulfil_job_id.is_(None) if expected is None else OrderRow.fulfil_job_id == expected
            )
            moved = rowcount(
                session,
                update(OrderRow)
                .where(OrderRow.id == order_id, current)
                .values(fulfil_job_id=job_id, updated_at=utcnow()),
            )
            if moved:
                append_entry(session, actor=actor, action="fulfil_job", order_id=order_id, ref=job_id)
            return moved == 1

        return self.db.run(work)

    # ----- refunds ----------------------------------------------------------------------------

    def _refund_request(self, session: Session, payment: PaymentRow, reason: str) -> RefundRequest:
        """Who gets the money back: the payer, else the order's user; a payment with neither (a
        Stripe payment naming no order) is refunded by its charge alone."""
        order = session.get(OrderRow, payment.order_id) if payment.order_id is not None else None
        user_id = (
            payment.user_id if payment.user_id is not None else (order.user_id if order is not None else None)
        )
        user = session.get(UserRow, user_id) if user_id is not None else None
        if payment.order_id is not None and user is None:
            raise OrderError(f"payment {payment.id} has no order/user")
        # The payer's id kept on the payment (Stars) wins: the user row's is gone after /forget.
        platform_user_id = payment.payer_ref or (user.platform_user_id if user is not None else None)
        return RefundRequest(
            Payment.from_row(payment),
            user.platform if user is not None else None,
            platform_user_id,
            reason,
        )

    def begin_order_refund(
        self, order_id: str, reason: str, actor: str, *, allow_delivered: bool = False
    ) -> RefundRequest | None:
        """paid (or delivered, for admins) -> refund_pending; the request to send, or None.

        None means another caller already started (or finished) this refund, or the order was
        never paid: the refund provider must then not be called - this is the "refund called
        once" guarantee.
        """
        from_states = [OrderState.PAID] + ([OrderState.DELIVERED] if allow_delivered else [])

        def work(session: Session) -> RefundRequest | None:
            order = _lock_order(session, order_id)
            if order is None:
                raise OrderError(f"no order {order_id}")
            previous = order.state
            if not _transition(session, order_id, from_states, OrderState.REFUND_PENDING):
                return None
            payment = session.scalars(
                select(PaymentRow).where(PaymentRow.order_id == order_id, PaymentRow.granted.is_(True))
            ).one()
            payment.status = PaymentStatus.REFUND_PENDING.value
            append_entry(
                session,
                actor=actor,
                action="refund_requested",
                order_id=order_id,
                payment_id=payment.id,
                from_state=previous,
                to_state=OrderState.REFUND_PENDING.value,
                amount=payment.amount,
                currency=payment.currency,
                detail={"reason": reason},
            )
            return self._refund_request(session, payment, reason)

        return self._counted(self.db.run(work))

    def begin_payment_refund(self, payment_id: int, reason: str, actor: str) -> RefundRequest | None:
        """captured -> refund_pending for a payment that granted nothing (duplicate/mismatch)."""

        def work(session: Session) -> RefundRequest | None:
            moved = rowcount(
                session,
                update(PaymentRow)
                .where(
                    PaymentRow.id == payment_id,
                    PaymentRow.granted.is_(False),
                    PaymentRow.status == PaymentStatus.CAPTURED.value,
                )
                .values(status=PaymentStatus.REFUND_PENDING.value),
            )
            if moved != 1:
                return None
            payment = session.get_one(PaymentRow, payment_id)
            append_entry(
                session,
                actor=actor,
                action="refund_requested",
                order_id=payment.order_id,
                payment_id=payment.id,
                amount=payment.amount,
                currency=payment.currency,
                detail={"reason": reason},
            )
            return self._refund_request(session, payment, reason)

        return self._counted(self.db.run(work))

    @staticmethod
    def _counted(request: RefundRequest | None) -> RefundRequest | None:
        """A refund started now (not one another caller started) counts once, by reason."""
        if request is not None:
            payment_metrics.refund_started(request.reason)
        return request

    def complete_refund(self, payment_id: int, refund_ref: str | None, actor: str) -> bool:
        """The provider confirmed: payment refunded and, if it was the granting one, order too."""

        def work(session: Session) -> bool:
            now = utcnow()
            refunded = rowcount(
                session,
                update(PaymentRow)
                .where(
                    PaymentRow.id == payment_id,
                    PaymentRow.status == PaymentStatus.REFUND_PENDING.value,
                )
                .values(status=PaymentStatus.REFUNDED.value, refund_ref=refund_ref, refunded_at=now),
            )
            if refunded != 1:
                return False
            payment = session.get_one(PaymentRow, payment_id)
            moved = False
            if payment.granted and payment.order_id is not None:  # a grant is always an order's
                moved = _transition(
                    session, payment.order_id, [OrderState.REFUND_PENDING], OrderState.REFUNDED
                )
                session.execute(
                    update(EntitlementRow)
                    .where(
                        EntitlementRow.order_id == payment.order_id,
                        EntitlementRow.revoked_at.is_(None),
                    )
                    .values(revoked_at=now)
                )
            append_entry(
                session,
                actor=actor,
                action="refunded",
                order_id=payment.order_id,
                payment_id=payment.id,
                from_state=OrderState.REFUND_PENDING.value if moved else None,
                to_state=OrderState.REFUNDED.value if moved else None,
                amount=payment.amount,
                currency=payment.currency,
                ref=refund_ref,
            )
            return True

        return self.db.run(work)

    def note_refund_failure(self, payment_id: int, error: str, actor: str) -> None:
        """Keep the payment in refund_pending (recovery retries it) and journal why it failed:
        once per distinct failure, so a refund that keeps failing the same way every round does
        not grow the ledger (the retries go on; an admin sees the pending refund in /stats)."""

        def work(session: Session) -> None:
            payment = session.get(PaymentRow, payment_id)
            if payment is None:
                raise OrderError(f"no payment {payment_id}")
            detail = json.dumps({"error": error[:500]}, sort_keys=True)
            last = session.scalars(
                select(LedgerEntryRow)
                .where(LedgerEntryRow.payment_id == payment_id)
                .order_by(LedgerEntryRow.id.desc())
                .limit(1)
            ).one_or_none()
            if last is not None and (last.action, last.detail) == ("refund_failed", detail):
                return
            append_entry(
                session,
                actor=actor,
                action="refund_failed",
                order_id=payment.order_id,
                payment_id=payment_id,
                detail=detail,
            )

        self.db.run(work)

    def pending_refunds(self) -> list[RefundRequest]:
        """Refunds that were started but not confirmed (crash or provider error): to retry."""
        with self.db.read() as session:
            rows = session.scalars(
                select(PaymentRow)
                .where(PaymentRow.status == PaymentStatus.REFUND_PENDING.value)
                .order_by(PaymentRow.id)
            ).all()
            return [self._refund_request(session, row, "retry") for row in rows]
