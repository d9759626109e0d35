"""Fixtures for payments tests: the store on SQLite and on PostgreSQL, a Stripe stub server.

``db_url`` is parametrized: every test that uses it runs on a fresh SQLite file and on a fresh,
uniquely named PostgreSQL schema (127.0.0.1:5432, database ``test``), dropped afterwards. The
PostgreSQL variant is skipped only when no server answers there.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import psycopg2
import pytest
import stripe
from aiohttp import web

from payments import Payments, Settings, User

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


# ----- Stripe stub ----------------------------------------------------------------------------


@dataclass
class StubRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class StripeStub:
    """A loopback stand-in for api.stripe.com: records requests, answers like Stripe does
    (including idempotent replay of a request with a seen ``Idempotency-Key``)."""

    requests: list[StubRequest] = field(default_factory=list)
    sessions: dict[str, dict] = field(default_factory=dict)
    idempotent: dict[str, dict] = field(default_factory=dict)
    fail_refunds: int = 0  # answer this many refund calls with a 500 first
    url: str = ""

    def calls(self, path: str) -> list[StubRequest]:
        return [r for r in self.requests if r.path == path]

    def _session(self, form: dict[str, str]) -> dict:
        session_id = f"cs_test_{uuid.uuid4().hex}"
        return {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": int(form["line_items[0][price_data][unit_amount]"]),
            "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
            "cancel_url": form["cancel_url"],
            "client_reference_id": form["client_reference_id"],
            "created": int(time.time()),
            "currency": form["line_items[0][price_data][currency]"],
            "expires_at": int(form["expires_at"]),
            "livemode": False,
            "metadata": {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")},
            "mode": form["mode"],
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": form["success_url"],
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }

    async def handle(self, request: web.Request) -> web.Response:
        form = dict(parse_qsl(await request.text(), keep_blank_values=True))
        self.requests.append(StubRequest(request.method, request.path, dict(request.headers), form))
        key = request.headers.get("Idempotency-Key")
        if key and key in self.idempotent:
            return web.json_response(self.idempotent[key], headers={"Idempotent-Replayed": "true"})
        if request.path == "/v1/checkout/sessions":
            body = self._session(form)
            self.sessions[body["id"]] = body
        elif request.path == "/v1/refunds":
            if self.fail_refunds > 0:
                self.fail_refunds -= 1
                return web.json_response(
                    {"error": {"type": "api_error", "message": "stub outage"}}, status=500
                )
            body = {
                "id": f"re_{uuid.uuid4().hex[:24]}",
                "object": "refund",
                "amount": 199,
                "currency": "usd",
                "payment_intent": form["payment_intent"],
                "metadata": {
                    k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")
                },
                "status": "succeeded",
                "created": int(time.time()),
            }
        else:
            return web.json_response(
                {"error": {"type": "invalid_request_error", "message": "unknown path"}},
                status=404,
            )
        if key:
            self.idempotent[key] = body
        return web.json_response(body)


@pytest.fixture
async def stripe_stub() -> AsyncIterator[StripeStub]:
    stub = StripeStub()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stub.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    stub.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield stub
    finally:
        await runner.cleanup()


# ----- signed Stripe events -------------------------------------------------------------------


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
        "metadata": {"order_id": order_id, "kind": "full_stems"},
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
