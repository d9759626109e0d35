"""Nothing paid is lost: recovery after a crash, retries, and refunds after repeated failure."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from db.tables import EntitlementRow, LedgerEntryRow
from payments import Order, OrderState, Payments, Provider, RefundRequest, RefundStatus
from people import User

from .conftest import WEBHOOK_SECRET, make_settings, session_object, sign, stripe_event
from .test_store import count, stripe_payment

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0


async def test_recover_redrives_paid_orders_and_refunds_stuck_ones(pay: Payments, user: User) -> None:
    started: list[str] = []
    refunds: list[RefundRequest] = []

    async def refund(request: RefundRequest) -> str:
        refunds.append(request)
        return "re_x"

    pay.refunder.register(Provider.STRIPE, refund)
    fresh = pay.ledger.create_order(user, "s1", "j1")
    pay.ledger.record_payment(stripe_payment(fresh.id, event_id="e1", charge_id="pi_1"))
    stuck = pay.ledger.create_order(user, "s2", "j2")
    pay.ledger.record_payment(stripe_payment(stuck.id, event_id="e2", charge_id="pi_2"))
    for _ in range(pay.settings.max_fulfil_attempts):
        pay.ledger.note_fulfil_attempt(stuck.id, "system", "tried")
    done = pay.ledger.create_order(user, "s3", "j3")
    pay.ledger.record_payment(stripe_payment(done.id, event_id="e3", charge_id="pi_3"))
    pay.ledger.mark_delivered(done.id)
    unpaid = pay.ledger.create_order(user, "s4", "j4")

    report = await pay.recover(lambda order: started.append(order.id))

    assert report.redriven == [fresh.id] and started == [fresh.id]
    assert report.refunded == [stuck.id] and [r.payment.charge_id for r in refunds] == ["pi_2"]
    assert pay.ledger.get_order(stuck.id).state is OrderState.REFUNDED
    assert pay.ledger.get_order(done.id).state is OrderState.DELIVERED
    assert pay.ledger.get_order(unpaid.id).state is OrderState.CREATED
    assert pay.ledger.get_order(fresh.id).fulfil_attempts == 1


async def test_recover_hands_stuck_orders_to_the_bot_or_refunds_when_it_cannot(
    pay: Payments, user: User
) -> None:
    """With a ``give_up`` hook the person's bot refunds (and tells); if the hook can't hand the
    order over (False, or the queue is down) recovery refunds it itself."""
    refunds: list[str] = []

    async def refund(request: RefundRequest) -> str:
        refunds.append(request.payment.charge_id)
        return "re_x"

    pay.refunder.register(Provider.STRIPE, refund)
    orders = []
    for n in range(3):
        order = pay.ledger.create_order(user, f"s{n}", f"j{n}")
        pay.ledger.record_payment(stripe_payment(order.id, event_id=f"e{n}", charge_id=f"pi_{n}"))
        for _ in range(pay.settings.max_fulfil_attempts):
            pay.ledger.note_fulfil_attempt(order.id, "system", "tried")
        orders.append(order)
    handed, nobody, broken = orders
    given: list[tuple[str, str]] = []

    def give_up(order: Order, reason: str) -> bool:
        given.append((order.id, reason))
        if order.id == broken.id:
            raise ConnectionError("queue down")
        return order.id == handed.id

    report = await pay.recover(lambda order: None, give_up)

    assert report.handed_over == [handed.id]
    assert sorted(report.refunded) == sorted([nobody.id, broken.id])
    assert sorted(refunds) == ["pi_1", "pi_2"]
    assert pay.ledger.get_order(handed.id).state is OrderState.PAID  # the bot refunds it
    assert {reason for _, reason in given} == {"not delivered after 3 attempts"}


async def test_recover_retries_refunds_left_pending(pay: Payments, user: User) -> None:
    order = pay.ledger.create_order(user, "s1", "j1")
    pay.ledger.record_payment(stripe_payment(order.id))
    # A crash right after the refund was started: state says pending, money not sent.
    assert pay.ledger.begin_order_refund(order.id, "job failed", "system") is not None
    sent: list[int] = []

    async def refund(request: RefundRequest) -> str:
        sent.append(request.payment_id)
        return "re_1"

    pay.refunder.register(Provider.STRIPE, refund)
    report = await pay.recover(lambda order: None)
    assert report.refunds_retried == [RefundStatus.REFUNDED] and len(sent) == 1
    assert pay.ledger.get_order(order.id).state is OrderState.REFUNDED
    assert report.redriven == []


# ----- a real process, really killed ------------------------------------------------------------


def _start(mode: str, directory: Path, database_url: str) -> subprocess.Popen[bytes]:
    (directory / "port").unlink(missing_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": "0",
        "PYTHONPATH": str(REPO),
    }
    env.pop("STRIPE_API_KEY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.payments.crash_service", mode, str(directory)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(directory / f"{mode}.log", "ab"),
    )


async def _wait_for(path: Path, proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"service exited early: {proc.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {path.name}")
        await asyncio.sleep(0.05)
    return path.read_text()


@pytest.mark.slow  # starts, kills and restarts service processes
async def test_killed_after_payment_commit_is_redriven_at_restart_and_the_replay_grants_nothing_twice(
    tmp_path: Path, sqlite_url: str
) -> None:
    """What this proves: a payments process killed after the payment committed and before its
    fulfilment finished keeps the money recorded; the restarted process's recovery hands the
    order to fulfilment again, and Stripe's retry of the lost webhook is a replay (one
    entitlement, one ``paid`` line). Fulfilment is a stub hook (``tests.payments.crash_service``)
    that marks the order delivered — no job runs here; real delivery after a bot restart is
    ``tests/bots/test_telegram_restart.py``."""
    pay = Payments.open(make_settings(sqlite_url))
    try:
        user = pay.users.get_or_create("telegram", 4242)
        order: Order = pay.ledger.create_order(user, "song", "preview-job")
    finally:
        pay.close()

    first = _start("hang", tmp_path, sqlite_url)
    try:
        port = int(await _wait_for(tmp_path / "port", first))
        payload = stripe_event("checkout.session.completed", session_object(order.id))
        headers = {"Stripe-Signature": sign(payload), "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as http:
            post = asyncio.create_task(
                http.post(f"http://127.0.0.1:{port}/stripe/webhook", data=payload, headers=headers)
            )
            await _wait_for(tmp_path / f"started-{order.id}", first)
            first.send_signal(signal.SIGKILL)  # dies after the commit, before delivery
            first.wait(timeout=10)
            with pytest.raises(aiohttp.ClientError):
                await post  # Stripe saw no answer: it would retry the event later
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    pay = Payments.open(make_settings(sqlite_url), migrate=False)
    try:
        assert pay.ledger.get_order(order.id).state is OrderState.PAID  # the money is recorded

        second = _start("deliver", tmp_path, sqlite_url)
        try:
            port = int(await _wait_for(tmp_path / "port", second))  # ready = recovery done
            assert (tmp_path / "delivered").read_text().split() == [order.id]
            assert pay.ledger.get_order(order.id).state is OrderState.DELIVERED
            # Stripe's retry of the lost webhook arrives now: a replay, nothing granted twice.
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"http://127.0.0.1:{port}/stripe/webhook",
                    data=payload,
                    headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"},
                ) as resp:
                    assert resp.status == 200
                    assert (await resp.json())["outcome"] == "replay"
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=15) == 0
        assert (tmp_path / "delivered").read_text().split() == [order.id]
        assert count(pay, EntitlementRow) == 1
        paid_lines = count(pay, LedgerEntryRow, LedgerEntryRow.action == "paid")
        assert paid_lines == 1
    finally:
        pay.close()
