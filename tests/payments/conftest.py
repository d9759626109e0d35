"""Fixtures for payments tests: the store on SQLite and on PostgreSQL, signed Stripe events.

``db_url`` is parametrized: every test that uses it runs on a fresh SQLite file and on a fresh,
uniquely named PostgreSQL schema (127.0.0.1:5432, database ``test``), dropped afterwards. The
PostgreSQL variant is skipped only when no server answers there.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import stripe

from payments import Payments, Settings
from people import User
from testbed.workers import ABUSE_HMAC_SECRET

PG_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=2"
PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
WEBHOOK_SECRET = "whsec_test_secret"
STRIPE_KEY = "sk_test_payments_suite"
DOWNLOAD_SECRET = "download-test-secret"


def _pg_available() -> bool:
    try:
        psycopg2.connect(PG_DSN).close()
    except psycopg2.OperationalError:
        return False
    return True


PG_AVAILABLE = _pg_available()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'payments.sqlite3'}"
        return
    if not PG_AVAILABLE:
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
    schema = f"payments_test_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(PG_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'payments.sqlite3'}"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=database_url,
        stripe_api_key=None,
        stripe_webhook_secret=WEBHOOK_SECRET,
        public_base_url="https://bot.example.test",
        price_cents=199,
        currency="usd",
        price_stars=100,
        free_previews_per_day=3,
        paid_previews_per_day=5,
        admin_ids=frozenset({"telegram:1000"}),
        download_secret=DOWNLOAD_SECRET,
        abuse_hmac_secret=ABUSE_HMAC_SECRET,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def pay(settings: Settings) -> Iterator[Payments]:
    payments = Payments.open(settings)
    try:
        yield payments
    finally:
        payments.close()


@pytest.fixture
def user(pay: Payments) -> User:
    return pay.users.get_or_create("telegram", 4242)


# ----- signed Stripe events -------------------------------------------------------------------


# What our own Checkout Sessions carry in their metadata (``payments.stripe_checkout``): the
# app and the deployment's environment (the tests' settings keep the default).
OUR_MARKER = {"app": "vocal-remover", "env": "production"}


def session_object(order_id: str, **overrides: Any) -> dict:
    """A Checkout Session as Stripe puts it in ``event.data.object`` after payment."""
    obj = {
        "id": f"cs_test_{uuid.uuid4().hex}",
        "object": "checkout.session",
        "amount_subtotal": 199,
        "amount_total": 199,
        "client_reference_id": order_id,
        "currency": "usd",
        "customer_details": {"email": None, "name": None},
        "livemode": False,
        "metadata": {**OUR_MARKER, "order_id": order_id, "kind": "full_stems"},
        "mode": "payment",
        "payment_intent": f"pi_{uuid.uuid4().hex[:24]}",
        "payment_status": "paid",
        "status": "complete",
    }
    obj.update(overrides)
    return obj


def stripe_event(event_type: str, obj: dict, event_id: str | None = None) -> str:
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "api_version": "2025-09-30.clover",
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
    )


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header, made by the SDK's own helper."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)
