"""A loopback stand-in for api.stripe.com that the official SDK talks to (``base_addresses``).

It answers the two calls the service makes (Checkout Sessions, refunds) the way Stripe does,
replays a request whose ``Idempotency-Key`` it has seen, records every request for assertions, and
can fail refunds on demand.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from aiohttp import web


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
                "charge": form.get("charge"),
                "payment_intent": form.get("payment_intent"),
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


@asynccontextmanager
async def running_stripe_stub() -> AsyncIterator[StripeStub]:
    """Serve a fresh :class:`StripeStub` on a free loopback port while the block runs."""
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
