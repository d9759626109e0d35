"""Store, ledger and state-machine tests; every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from db.database import MIGRATIONS_DIR, Database, set_wal
from db.tables import Base, EntitlementRow, LedgerEntryRow, ProviderEventRow, utcnow
from payments import IncomingPayment, OrderError, OrderState, PaidOutcome, Payments, PaymentStatus, Provider
from payments.ledger import Ledger
from people import User

from .conftest import make_settings

CONCURRENCY = 8


def stripe_payment(order_id: str, event_id: str = "evt_1", charge_id: str = "pi_1", **kw):
    values = dict(
        provider=Provider.STRIPE,
        order_id=order_id,
        charge_id=charge_id,
        amount=199,
        currency="usd",
        event_id=event_id,
        event_type="checkout.session.completed",
        provider_ref="cs_test_1",
    )
    values.update(kw)
    return IncomingPayment(**values)


def at_once(n: int, fn: Callable[[int], object]) -> list:
    """Run ``fn(i)`` for i in range(n) on n threads released together by a barrier."""
    barrier = threading.Barrier(n)

    def run(i: int):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def count(pay: Payments, model, *where) -> int:
    with pay.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_migrations_match_models_and_rerun(pay: Payments) -> None:
    with pay.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    pay.db.migrate()  # a second start-up is a no-op


def test_concurrent_startups_migrate_once(db_url: str) -> None:
    databases = [Database(db_url) for _ in range(3)]
    try:
        at_once(3, lambda i: databases[i].migrate())
        with databases[0].transaction() as s:
            assert s.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        for db in databases:
            db.dispose()


def test_a_fresh_sqlite_file_is_switched_to_wal_even_while_another_process_races(
    tmp_path,
) -> None:
    """Processes starting together on a fresh file race to switch its journal mode, and SQLite
    can answer "database is locked" at once, without waiting (the flaky concurrent start-up
    seen in CI). That race can't be staged on demand, so a cursor reports it the way SQLite
    does for the first tries; ``set_wal`` must wait it out — and not forever."""
    connection = sqlite3.connect(tmp_path / "fresh.sqlite3", isolation_level=None)

    class RacingCursor:
        def __init__(self, refusals: int) -> None:
            self.refusals = refusals

        def execute(self, sql: str) -> sqlite3.Cursor:
            if self.refusals:
                self.refusals -= 1
                raise sqlite3.OperationalError("database is locked")
            return connection.execute(sql)

    racing = RacingCursor(refusals=3)
    set_wal(racing)
    assert racing.refusals == 0
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        set_wal(RacingCursor(refusals=10**6), timeout_s=0.2)  # a lock that never goes
    connection.close()


def test_ledger_is_append_only(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-a", "job-a")
    with pytest.raises(DBAPIError, match="append-only"):
        with pay.db.transaction() as s:
            s.execute(text("UPDATE ledger_entries SET actor = 'mallory'"))
    with pytest.raises(DBAPIError, match="append-only"):
        with pay.db.transaction() as s:
            s.execute(text("DELETE FROM ledger_entries"))
    assert [e.action for e in pay.ledger.entries(order.id)] == ["order_created"]


def test_one_live_order_per_user_song_kind(pay: Payments, user: User) -> None:
    first = pay.ledger.create_order(user, "song-a", "job-a")
    assert first.state is OrderState.CREATED
    assert (first.price_cents, first.currency, first.price_stars) == (199, "usd", 100)
    assert pay.ledger.create_order(user, "song-a", "job-a2").id == first.id
    assert pay.ledger.create_order(user, "song-b", "job-b").id != first.id
    other = pay.users.get_or_create("telegram", 777)
    assert pay.ledger.create_order(other, "song-a", "job-c").id != first.id


def test_order_keeps_the_format_chosen_until_it_is_paid(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-f", "job-f", output_format="wav")
    assert order.output_format == "wav"
    # A new choice before paying replaces it (the newest invoice names it), audited.
    assert pay.ledger.create_order(user, "song-f", "job-f", output_format="flac").output_format == "flac"
    assert pay.ledger.create_order(user, "song-f", "job-f").output_format == "flac"
    pay.ledger.record_payment(stripe_payment(order.id))
    # Paid: the stems are being made in that format; a later tap changes nothing.
    assert pay.ledger.create_order(user, "song-f", "job-f", output_format="mp3").output_format == "flac"
    actions = [e.action for e in pay.ledger.entries(order.id)]
    assert actions == ["order_created", "format_chosen", "paid"]
    with pytest.raises(OrderError):
        pay.ledger.create_order(user, "song-g", "job-g", output_format="x" * 20)


def test_order_keeps_the_karaoke_chosen_until_it_is_paid(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-k", "job-k", karaoke="g12.k2.t90")
    assert order.karaoke == "g12.k2.t90"
    # Changed (or switched off: None) before paying, the newest choice counts, audited.
    assert pay.ledger.create_order(user, "song-k", "job-k", karaoke="goff.k1.t100").karaoke == (
        "goff.k1.t100"
    )
    pay.ledger.record_payment(stripe_payment(order.id))
    assert pay.ledger.create_order(user, "song-k", "job-k").karaoke == "goff.k1.t100"
    actions = [e.action for e in pay.ledger.entries(order.id)]
    assert actions == ["order_created", "karaoke_chosen", "paid"]
    assert pay.ledger.create_order(user, "song-m", "job-m").karaoke is None
    with pytest.raises(OrderError):
        pay.ledger.create_order(user, "song-n", "job-n", karaoke="x" * 20)


def test_upgrade_from_the_first_schema_keeps_orders(db_url: str) -> None:
    """An order written by revision 0001 survives the upgrade with no format (the default)."""
    db = Database(db_url)
    try:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
            conn.execute(
                text(
                    "INSERT INTO users (platform, platform_user_id, level, banned, "
                    "created_at) VALUES ('telegram', '1', 'free', false, :now)"
                ),
                {"now": utcnow()},
            )
            conn.execute(
                text(
                    "INSERT INTO orders (id, user_id, song_key, kind, job_id, state, "
                    "price_cents, currency, price_stars, fulfil_attempts, created_at, "
                    "updated_at) VALUES ('o1', 1, 's', 'full_stems', 'j', 'created', 199, "
                    "'usd', 100, 0, :now, :now)"
                ),
                {"now": utcnow()},
            )
            conn.execute(
                text(
                    "INSERT INTO payments (order_id, provider, charge_id, amount, "
                    "currency, granted, status, created_at) VALUES ('o1', 'stars', "
                    "'c1', 100, 'xtr', true, 'captured', :now)"
                ),
                {"now": utcnow()},
            )
        db.migrate()
        ledger = Ledger(db, make_settings(db_url))
        order = ledger.get_order("o1")
        assert order is not None and order.output_format is None
        (payment,) = ledger.payments_for("o1")
        assert payment.user_id == order.user_id  # 0003 names the payer of existing payments
    finally:
        db.dispose()


def test_concurrent_create_order_yields_one_order(pay: Payments, user: User) -> None:
    ids = at_once(CONCURRENCY, lambda i: pay.ledger.create_order(user, "song-x", f"job-{i}").id)
    assert len(set(ids)) == 1
    assert len(pay.ledger.user_orders(user.id)) == 1


def test_payment_grants_once_and_records_everything(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-a", "job-a")
    result = pay.ledger.record_payment(stripe_payment(order.id))
    assert result.outcome is PaidOutcome.GRANTED
    assert result.order.state is OrderState.PAID and result.order.paid_at is not None
    assert result.payment.granted and result.payment.status is PaymentStatus.CAPTURED
    assert pay.ledger.is_entitled(user.id, "song-a")
    assert pay.users.by_id(user.id).level.value == "paid"
    paid = [e for e in pay.ledger.entries(order.id) if e.action == "paid"]
    assert len(paid) == 1
    assert (paid[0].actor, paid[0].from_state, paid[0].to_state) == ("stripe", "created", "paid")
    assert (paid[0].amount, paid[0].currency, paid[0].ref) == (199, "usd", "pi_1")

    replay = pay.ledger.record_payment(stripe_payment(order.id))
    assert replay.outcome is PaidOutcome.REPLAY
    same_charge = pay.ledger.record_payment(stripe_payment(order.id, event_id="evt_2"))
    assert same_charge.outcome is PaidOutcome.ALREADY_RECORDED
    assert count(pay, EntitlementRow) == 1
    assert len(pay.ledger.payments_for(order.id)) == 1


def test_second_charge_is_duplicate_and_wrong_amount_is_mismatch(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-a", "job-a")
    other = pay.ledger.create_order(user, "song-b", "job-b")
    assert pay.ledger.record_payment(stripe_payment(order.id)).granted
    dup = pay.ledger.record_payment(stripe_payment(order.id, event_id="e2", charge_id="pi_2"))
    assert dup.outcome is PaidOutcome.DUPLICATE and dup.needs_refund
    assert not dup.payment.granted
    bad = pay.ledger.record_payment(stripe_payment(other.id, event_id="e3", charge_id="pi_3", amount=1))
    assert bad.outcome is PaidOutcome.MISMATCH and bad.needs_refund
    assert pay.ledger.get_order(other.id).state is OrderState.CREATED
    unknown = pay.ledger.record_payment(stripe_payment("f" * 32, event_id="e4", charge_id="pi_4"))
    assert unknown.outcome is PaidOutcome.UNKNOWN_ORDER and unknown.needs_refund
    assert unknown.order is None and unknown.payment.order_id is None
    assert not unknown.payment.granted and unknown.payment.user_id is None  # Stripe: no payer
    # The same charge reported by another event is the same payment: one refund, not two.
    again = pay.ledger.record_payment(stripe_payment("f" * 32, event_id="e5", charge_id="pi_4"))
    assert again.outcome is PaidOutcome.ALREADY_RECORDED and not again.needs_refund
    assert [p.charge_id for p in pay.ledger.unmatched_payments()] == ["pi_4"]
    request = pay.ledger.begin_payment_refund(unknown.payment.id, "no order", "stripe")
    assert request is not None and request.platform is None and request.platform_user_id is None
    assert pay.ledger.begin_payment_refund(unknown.payment.id, "no order", "stripe") is None
    assert count(pay, EntitlementRow) == 1


def test_concurrent_deliveries_of_one_event_grant_once(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-a", "job-a")
    outcomes = at_once(CONCURRENCY, lambda i: pay.ledger.record_payment(stripe_payment(order.id)).outcome)
    assert outcomes.count(PaidOutcome.GRANTED) == 1
    assert set(outcomes) == {PaidOutcome.GRANTED, PaidOutcome.REPLAY}
    assert count(pay, EntitlementRow) == 1
    assert count(pay, ProviderEventRow) == 1


def test_concurrent_events_for_one_charge_grant_once(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-a", "job-a")
    outcomes = at_once(
        CONCURRENCY,
        lambda i: pay.ledger.record_payment(stripe_payment(order.id, event_id=f"evt_{i}")).outcome,
    )
    assert outcomes.count(PaidOutcome.GRANTED) == 1
    assert outcomes.count(PaidOutcome.ALREADY_RECORDED) == CONCURRENCY - 1
    assert count(pay, EntitlementRow) == 1
    paid_lines = count(
        pay, LedgerEntryRow, LedgerEntryRow.order_id == order.id, LedgerEntryRow.action == "paid"
    )
    assert paid_lines == 1


def test_delivery_transition_happens_once(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-a", "job-a")
    assert not pay.ledger.mark_delivered(order.id)  # unpaid: nothing to deliver
    pay.ledger.record_payment(stripe_payment(order.id))
    results = at_once(4, lambda i: pay.ledger.mark_delivered(order.id, actor="telegram"))
    assert results.count(True) == 1
    order = pay.ledger.get_order(order.id)
    assert order.state is OrderState.DELIVERED and order.delivered_at is not None
    assert [e.action for e in pay.ledger.entries(order.id)] == [
        "order_created",
        "paid",
        "delivered",
    ]


def test_refund_begins_once_then_completes(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-a", "job-a")
    with pytest.raises(OrderError):
        pay.ledger.begin_order_refund("0" * 32, "job failed", "system")
    assert pay.ledger.begin_order_refund(order.id, "job failed", "system") is None  # unpaid
    pay.ledger.record_payment(stripe_payment(order.id))
    requests = at_once(CONCURRENCY, lambda i: pay.ledger.begin_order_refund(order.id, "job failed", "system"))
    started = [r for r in requests if r is not None]
    assert len(started) == 1
    request = started[0]
    assert (request.payment.charge_id, request.payment.amount, request.platform_user_id) == (
        "pi_1",
        199,
        "4242",
    )
    assert pay.ledger.get_order(order.id).state is OrderState.REFUND_PENDING
    assert [r.payment_id for r in pay.ledger.pending_refunds()] == [request.payment_id]

    assert pay.ledger.complete_refund(request.payment_id, "re_1", "stripe")
    assert not pay.ledger.complete_refund(request.payment_id, "re_1", "stripe")
    assert pay.ledger.get_order(order.id).state is OrderState.REFUNDED
    assert not pay.ledger.is_entitled(user.id, "song-a")
    assert pay.ledger.pending_refunds() == []
    # A refunded order no longer blocks buying the same song again.
    again = pay.ledger.create_order(user, "song-a", "job-a")
    assert again.id != order.id and again.state is OrderState.CREATED


def test_delivered_orders_are_refunded_only_when_allowed(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-a", "job-a")
    pay.ledger.record_payment(stripe_payment(order.id))
    pay.ledger.mark_delivered(order.id)
    assert pay.ledger.begin_order_refund(order.id, "complaint", "admin:1") is None
    request = pay.ledger.begin_order_refund(order.id, "complaint", "admin:1", allow_delivered=True)
    assert request is not None
    entry = pay.ledger.entries(order.id)[-1]
    assert (entry.actor, entry.from_state, entry.to_state) == (
        "admin:1",
        "delivered",
        "refund_pending",
    )


def test_duplicate_payment_refund_leaves_order_paid(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-a", "job-a")
    pay.ledger.record_payment(stripe_payment(order.id))
    dup = pay.ledger.record_payment(stripe_payment(order.id, event_id="e2", charge_id="pi_2"))
    request = pay.ledger.begin_payment_refund(dup.payment.id, "duplicate", "stripe")
    assert request is not None
    assert pay.ledger.begin_payment_refund(dup.payment.id, "duplicate", "stripe") is None
    assert pay.ledger.complete_refund(request.payment_id, "re_2", "stripe")
    assert pay.ledger.get_order(order.id).state is OrderState.PAID
    assert pay.ledger.is_entitled(user.id, "song-a")


def test_fulfil_attempts_and_job_are_tracked(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-a", "job-a")
    pay.ledger.record_payment(stripe_payment(order.id))
    assert pay.ledger.note_fulfil_attempt(order.id, "system", "webhook") == 1
    assert pay.ledger.note_fulfil_attempt(order.id, "recovery", "restart") == 2
    assert pay.ledger.swap_fulfil_job(order.id, None, "claim:1")
    assert not pay.ledger.swap_fulfil_job(order.id, None, "claim:2")  # lost the race
    assert pay.ledger.swap_fulfil_job(order.id, "claim:1", "full-job-1")
    order = pay.ledger.get_order(order.id)
    assert (order.fulfil_attempts, order.fulfil_job_id) == (2, "full-job-1")
    assert [o.id for o in pay.ledger.orders_in_state(OrderState.PAID)] == [order.id]


def test_attach_checkout_session_is_audited_once(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-a", "job-a")
    pay.ledger.attach_checkout_session(order.id, "cs_1")
    pay.ledger.attach_checkout_session(order.id, "cs_1")
    assert pay.ledger.get_order(order.id).stripe_session_id == "cs_1"
    assert [e.action for e in pay.ledger.entries(order.id)].count("checkout_opened") == 1


def test_record_event_ignores_replays(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song-a", "job-a")
    assert pay.ledger.record_event(
        Provider.STRIPE,
        "evt_f",
        "checkout.session.async_payment_failed",
        "payment_failed",
        order.id,
    )
    assert not pay.ledger.record_event(
        Provider.STRIPE,
        "evt_f",
        "checkout.session.async_payment_failed",
        "payment_failed",
        order.id,
    )
    assert pay.ledger.seen_event(Provider.STRIPE, "evt_f")
    assert [e.action for e in pay.ledger.entries(order.id)] == ["order_created", "payment_failed"]
    assert pay.ledger.get_order(order.id).state is OrderState.CREATED


def test_order_input_is_validated(pay: Payments, user: User) -> None:
    with pytest.raises(OrderError):
        pay.ledger.create_order(user, "", "job")
    with pytest.raises(OrderError):
        pay.ledger.create_order(user, "s" * 200, "job")
