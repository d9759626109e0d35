"""Users, levels, bans, daily preview quota (SQLite and PostgreSQL) and the rate limiter."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text

import jobs
from db.tables import AbuseMarkRow, LedgerEntryRow, UserRow
from payments import Payments, Settings, SettingsError
from people import AccessLevel, RateLimiter, User, UserError
from tests.payments.conftest import make_settings
from tests.payments.test_store import at_once, count, stripe_payment


def test_get_or_create_is_idempotent_and_race_safe(pay: Payments) -> None:
    ids = at_once(6, lambda i: pay.users.get_or_create("Telegram", 99).id)
    assert len(set(ids)) == 1
    assert count(pay, UserRow) == 1
    user = pay.users.get("telegram", "99")
    assert (user.platform, user.platform_user_id, user.level) == ("telegram", "99", AccessLevel.FREE)
    assert pay.users.get("discord", 99) is None
    with pytest.raises(UserError):
        pay.users.get_or_create("", 1)
    with pytest.raises(UserError):
        pay.users.get_or_create("telegram", "x" * 65)


def test_admins_come_from_config_and_cannot_be_banned(pay: Payments) -> None:
    admin = pay.users.get_or_create("telegram", 1000)
    assert admin.is_admin
    with pytest.raises(UserError):
        pay.users.set_banned(admin.id, True, actor="admin:x")
    assert pay.users.consume_preview(admin).limit is None
    promoted = pay.users.set_level(
        pay.users.get_or_create("discord", 5).id, AccessLevel.ADMIN, actor=admin.actor
    )
    assert promoted.is_admin


def test_free_quota_is_enforced_atomically(pay: Payments, user: User) -> None:
    results = at_once(6, lambda i: pay.users.consume_preview(user))
    assert sum(r.allowed for r in results) == 3  # FREE_PREVIEWS_PER_DAY in the test settings
    assert pay.users.previews_used_today(user) == 3
    denied = pay.users.consume_preview(user)
    assert not denied.allowed and denied.remaining == 0 and denied.limit == 3
    assert denied.resets_at.hour == 0 and denied.resets_at.tzinfo is not None
    pay.users.release_preview(user)  # a failed preview is given back
    assert pay.users.consume_preview(user).allowed


def test_paid_users_get_the_larger_quota(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "song", "job")
    pay.ledger.record_payment(stripe_payment(order.id))
    paid = pay.users.by_id(user.id)
    assert paid.level is AccessLevel.PAID
    assert [pay.users.consume_preview(paid).allowed for _ in range(6)] == [True] * 5 + [False]


def test_ban_blocks_previews_and_is_audited(pay: Payments, user: User) -> None:
    banned = pay.users.set_banned(user.id, True, actor="admin:1", reason="spam")
    assert banned.banned
    assert not pay.users.consume_preview(banned).allowed
    assert not pay.users.set_banned(user.id, False, actor="admin:1").banned
    assert count(pay, LedgerEntryRow, LedgerEntryRow.action.in_(["user_banned", "user_unbanned"])) == 2


def test_rate_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=6, burst=2, clock=lambda: now[0])
    assert [limiter.allow("telegram:1") for _ in range(3)] == [True, True, False]
    assert limiter.allow("telegram:2")  # buckets are per key
    assert limiter.retry_after("telegram:1") == pytest.approx(10.0)
    now[0] += 10.0
    assert limiter.allow("telegram:1")
    assert not limiter.allow("telegram:1")
    with pytest.raises(ValueError):
        RateLimiter(per_minute=0)


def test_forget_keeps_a_ban_and_todays_previews_under_a_keyed_hmac(
    pay: Payments, user: User, settings: Settings
) -> None:
    """Issue 21, defect 7: /forget must not lift a ban or reset today's free previews. What is
    kept is an HMAC of the platform id (keyed by ABUSE_HMAC_SECRET) with the ban and today's
    count, nothing else; the person's new account takes them over when they come back."""
    for _ in range(settings.free_previews_per_day):
        assert pay.users.consume_preview(user).allowed
    pay.users.set_banned(user.id, True, "admin:1", "spam")
    assert pay.forget("telegram", 4242).forgotten
    with pay.db.read() as session:
        kept = session.execute(text("SELECT * FROM abuse_marks")).all()
    assert len(kept) == 1 and "4242" not in repr(kept)

    back = pay.users.get_or_create("telegram", 4242)
    assert back.id != user.id and back.banned
    pay.users.set_banned(back.id, False, "admin:1")  # an admin lifts it: that is allowed
    assert not pay.users.consume_preview(pay.users.by_id(back.id)).allowed  # today's are used
    assert count(pay, AbuseMarkRow) == 0  # taken over by the new account
    # A stranger with another id inherits nothing.
    assert not pay.users.get_or_create("telegram", 4243).banned


def test_an_abuse_mark_needs_its_key(db_url: str) -> None:
    """Another deployment's secret finds nothing: the mark is keyed, not a plain hash."""
    first = Payments.open(make_settings(db_url, abuse_hmac_secret="secret-one"))
    try:
        person = first.users.get_or_create("telegram", 5151)
        first.users.set_banned(person.id, True, "admin:1")
        assert first.forget("telegram", 5151).forgotten
    finally:
        first.close()
    second = Payments.open(make_settings(db_url, abuse_hmac_secret="secret-two"))
    try:
        assert not second.users.get_or_create("telegram", 5151).banned
    finally:
        second.close()


def test_without_its_own_secret_payments_refuses_to_start(db_url: str) -> None:
    """No mark is ever made under a key anyone could guess: not an empty one (an unkeyed hash
    of a platform id is undone by trying every id) and not one borrowed from DOWNLOAD_SECRET
    (rotating that would lift every kept ban). A process that keeps abuse limits says so at
    start-up, before it opens the store."""
    settings = make_settings(db_url, abuse_hmac_secret=None)
    assert settings.download_secret  # set: still not a key for the marks
    with pytest.raises(SettingsError, match="ABUSE_HMAC_SECRET is not set"):
        Payments.open(settings)
    with pytest.raises(SettingsError, match="ABUSE_HMAC_SECRET is not set"):
        jobs.Settings(abuse_hmac_secret=None).abuse_key  # noqa: B018 - the karaoke count's key
    for named in (settings, jobs.Settings()):
        assert dataclasses.replace(named, abuse_hmac_secret="s3cret").abuse_key == b"s3cret"


def test_a_chosen_language_is_kept_with_the_person_and_forgotten_with_them(pay: Payments, user: User) -> None:
    """/language stores the choice with the user (migration 0006); /forget removes it, and the
    person who comes back starts from their platform's language again."""
    assert user.language is None
    assert pay.users.set_language(user.id, "de").language == "de"
    assert pay.users.get("telegram", 4242).language == "de"
    assert pay.users.set_language(user.id, None).language is None
    pay.users.set_language(user.id, "pt_BR")
    with pytest.raises(UserError):
        pay.users.set_language(user.id, "x" * 9)
    assert pay.forget("telegram", 4242).forgotten
    with pay.db.read() as session:
        kept = session.execute(text("SELECT language FROM users WHERE id = :id"), {"id": user.id})
        assert kept.scalar_one() is None
    assert pay.users.get_or_create("telegram", 4242).language is None
