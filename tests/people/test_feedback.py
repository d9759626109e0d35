"""Feedback, /stats, CSV export and /forget (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io

import pytest

from db.tables import FeedbackRow, LedgerEntryRow, UsageRow
from payments import OrderState, Payments
from people import SOURCE_REACTION, FeedbackError, User, rating_for_reaction
from tests.payments.test_store import count, stripe_payment


def test_ratings_overwrite_and_withdraw(pay: Payments, user: User) -> None:
    other = pay.users.get_or_create("discord", 55)
    pay.feedback.record(user, "job-1", "v1", 1, source=SOURCE_REACTION, value="👍")
    pay.feedback.record(user, "job-1", "v1", -1, source=SOURCE_REACTION, value="👎")  # changed
    pay.feedback.record(other, "job-1", "v1", 1)
    pay.feedback.record(user, "job-2", "v2", 1)
    pay.feedback.record(other, "job-3", "v2", 1)
    pay.feedback.record(other, "job-4", "v2", -1)
    approval = {a.model_version: a for a in pay.feedback.approval_by_model()}
    assert (approval["v1"].up, approval["v1"].down, approval["v1"].approval_rate) == (1, 1, 0.5)
    assert approval["v2"].approval_rate == pytest.approx(2 / 3)
    assert pay.feedback.withdraw(other, "job-4")
    assert not pay.feedback.withdraw(other, "job-4")
    assert {a.model_version: a.approval_rate for a in pay.feedback.approval_by_model()}["v2"] == 1
    with pytest.raises(FeedbackError):
        pay.feedback.record(user, "job-1", "v1", 0)
    with pytest.raises(FeedbackError):
        pay.feedback.record(user, "job-1", "v1", 1, source="carrier-pigeon")


def test_reaction_emoji_mapping() -> None:
    assert rating_for_reaction("👍") == 1
    assert rating_for_reaction("🔥") == 1
    assert rating_for_reaction("👎") == -1
    assert rating_for_reaction("🤔") is None


def test_stats_figures(pay: Payments, user: User) -> None:
    other = pay.users.get_or_create("telegram", 77)
    pay.users.get_or_create("telegram", 78)
    pay.users.set_banned(other.id, True, "admin:1")
    pay.users.consume_preview(user)
    pay.users.consume_preview(user)
    paid = pay.ledger.create_order(user, "s1", "j1")
    pay.ledger.record_payment(stripe_payment(paid.id))
    refunded = pay.ledger.create_order(user, "s2", "j2")
    pay.ledger.record_payment(stripe_payment(refunded.id, event_id="e2", charge_id="pi_2"))
    request = pay.ledger.begin_order_refund(refunded.id, "failed", "system")
    pay.ledger.complete_refund(request.payment_id, "re_1", "stripe")
    pay.ledger.create_order(user, "s3", "j3")
    pay.feedback.record(user, "j1", "v1", 1)

    stats = pay.stats()
    assert (stats.users_total, stats.users_paid, stats.users_banned) == (3, 1, 1)
    assert stats.previews_today == 2
    assert stats.orders_by_state == {"paid": 1, "refunded": 1, "created": 1}
    assert stats.revenue == {"usd": 199}
    assert stats.refunds == 1
    assert stats.feedback_total == 1
    assert [(a.model_version, a.up) for a in stats.approval] == [("v1", 1)]


def test_csv_export_has_no_platform_ids(pay: Payments, user: User) -> None:
    pay.feedback.record(user, "job-1", "v1", 1, source=SOURCE_REACTION, value="🔥")
    text = pay.feedback.export_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["user_ref"], row["job_id"], row["model_version"], row["rating"]) == (
        f"user:{user.id}",
        "job-1",
        "v1",
        "1",
    )
    assert row["value"] == "🔥" and row["source"] == "reaction"
    assert user.platform_user_id not in text


def test_forget_deletes_personal_data_keeps_accounts(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song", "job")
    pay.ledger.record_payment(stripe_payment(order.id))
    pay.feedback.record(user, "job", "v1", 1)
    pay.users.consume_preview(user)

    refused = pay.forget("telegram", 4242)  # paid, not yet delivered: we still need the id
    assert not refused.forgotten and "still being processed" in refused.message

    pay.ledger.mark_delivered(order.id)
    dup = pay.ledger.record_payment(stripe_payment(order.id, event_id="e2", charge_id="pi_2"))
    refund = pay.ledger.begin_payment_refund(dup.payment.id, "duplicate", "stripe")
    assert not pay.forget("telegram", 4242).forgotten  # a refund still needs the platform id
    pay.ledger.complete_refund(refund.payment_id, "re_2", "stripe")
    result = pay.forget("telegram", 4242)
    assert result.forgotten
    assert result.deleted == {"feedback": 1, "usage": 1, "entitlements": 1}
    assert pay.users.get("telegram", 4242) is None
    assert count(pay, FeedbackRow) == 0 and count(pay, UsageRow) == 0
    # The accounting record survives, detached from the platform id.
    assert pay.ledger.get_order(order.id).state is OrderState.DELIVERED
    assert count(pay, LedgerEntryRow, LedgerEntryRow.action == "user_forgotten") == 1
    # Coming back later is a brand-new user; forgetting an unknown user is fine.
    assert pay.users.get_or_create("telegram", 4242).id != user.id
    assert pay.forget("telegram", 31337).forgotten
