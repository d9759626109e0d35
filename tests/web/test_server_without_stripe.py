"""The web server without Stripe: a Stars-only deployment still has its pages. It serves
whenever DOWNLOAD_SECRET is set; the Stripe webhook is one route, there only with
STRIPE_WEBHOOK_SECRET (and only then does this process recover payments)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from payments import Payments, Settings
from testbed.workers import REPO
from tests.payments.conftest import make_settings
from tests.payments.test_store import stripe_payment
from web.downloads import results_page_url
from web.hooks import ServiceHooks
from web.jobs_bridge import JobsFulfilment
from web.server import serve
from web.stripe_endpoint import STRIPE_WEBHOOK_PATH

from .conftest import FinishedJobs


async def _serving(
    settings: Settings, finished_jobs: FinishedJobs, recovered: list[str]
) -> AsyncIterator[str]:
    ready: asyncio.Queue[int] = asyncio.Queue()
    stop = asyncio.Event()

    def hooks(payments: Payments) -> ServiceHooks:
        bridge = JobsFulfilment(finished_jobs.queue, payments.ledger)
        return ServiceHooks(
            on_paid=lambda order: bool(recovered.append(order.id)), job_results=bridge.job_results
        )

    task = asyncio.create_task(serve(settings, hooks, stop=stop, on_ready=ready.put_nowait))
    try:
        port = await asyncio.wait_for(ready.get(), 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.mark.parametrize("stripe", [False, True], ids=["no-stripe", "stripe"])
async def test_pages_are_served_with_or_without_stripe_and_the_webhook_only_with_it(
    finished_jobs: FinishedJobs, tmp_path: Path, stripe: bool
) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'payments.sqlite3'}",
        stripe_webhook_secret="whsec_test" if stripe else None,
        stripe_api_key=None,
        webhook_host="127.0.0.1",
        webhook_port=0,
    )
    # A paid order left from before: only the payments service (the one with the webhook)
    # re-drives it at start; without it, the Telegram bot does.
    pay = Payments.open(settings)
    order = pay.ledger.create_order(pay.users.get_or_create("telegram", 5), "song", "job")
    assert pay.ledger.record_payment(stripe_payment(order.id)).granted
    pay.close()
    recovered: list[str] = []
    async for base in _serving(settings, finished_jobs, recovered):
        page = results_page_url(settings, finished_jobs.preview.id).replace(settings.public_base_url, base)
        async with aiohttp.ClientSession() as http:
            async with http.get(page) as reply:
                assert reply.status == 200 and "Night Drive" in await reply.text()
            async with http.post(base + STRIPE_WEBHOOK_PATH, data="{}") as reply:
                # With the route: an unsigned body is refused (400). Without: no such route.
                assert reply.status == (400 if stripe else 404)
    assert recovered == ([order.id] if stripe else [])


@pytest.mark.slow  # a whole Python process of the service
def test_the_server_refuses_to_start_with_nothing_to_serve(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}"}
    done = subprocess.run(
        [sys.executable, "-m", "web.server"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "nothing to serve: set DOWNLOAD_SECRET" in done.stderr
