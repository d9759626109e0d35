"""The web server: results pages (:mod:`web.results_page`), stem downloads, uploads by link
(:mod:`web.uploads`), buy links (:class:`BuyLinks`: one tap to Checkout), checkout landing
pages, and — where Stripe is configured — the Stripe webhook (:mod:`web.stripe_endpoint`).

Run it with ``python -m web.server``. It serves whenever ``DOWNLOAD_SECRET`` is set (pages,
downloads, uploads: everything it signs) or ``STRIPE_WEBHOOK_SECRET`` is (the webhook), so a
Stars-only deployment has its pages too. The Stripe route exists only with
``STRIPE_WEBHOOK_SECRET`` (no unsigned payments), and only then is this process the payments
service that owns recovery (:attr:`payments.Settings.takes_stripe_webhooks`); without it the
Telegram bot recovers. Fulfilment is driven by Stripe's signed webhook only; the browser's
redirect to ``/checkout/done`` shows a friendly page and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.registry import Collector

import metrics
from db.tables import OrderState
from payments.fulfilment import Fulfilment
from payments.gauges import OrdersCollector
from payments.service import Payments
from payments.settings import Settings
from payments.stripe_checkout import SongExpiring
from service import logs
from service.envconfig import load_or_exit
from texts import web as words
from web.downloads import DownloadLinks, StemLocator
from web.hooks import PrepareBuy, ServiceHooks, UploadRoutes
from web.language import browser_language
from web.page_tools import PageTools
from web.results_page import ResultSource, ResultsPage
from web.stripe_endpoint import StripeWebhook

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 512 * 1024  # Stripe events are a few KB
SWEEP_INTERVAL_S = 300.0  # how often failed starts, pending refunds and paid orders are re-driven

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto"><h1>{title}</h1>
<p>{body}</p></body></html>"""


def _page(notice: str, status: int = 200) -> web.Response:
    """The payment server's page named ``notice`` (its words: ``texts.web``)."""
    title, body = words.notice(notice)
    return web.Response(
        text=PAGE.format(title=html.escape(title), body=html.escape(body)),
        content_type="text/html",
        status=status,
    )


class Downloads:
    """GET /download/{order_id}/{name}?exp=..&sig=.. for paid/delivered orders only."""

    def __init__(self, payments: Payments, links: DownloadLinks, locate: StemLocator) -> None:
        self.payments = payments
        self.links = links
        self.locate = locate

    async def handle(self, request: web.Request) -> web.StreamResponse:
        order_id = request.match_info["order_id"]
        name = request.match_info["name"]
        if not self.links.verify(order_id, name, request.query.get("exp", ""), request.query.get("sig", "")):
            return _page("download_expired", 403)
        order = await asyncio.to_thread(self.payments.ledger.get_order, order_id)
        if order is None or order.state not in (OrderState.PAID, OrderState.DELIVERED):
            return _page("download_unavailable", 410)
        located = await asyncio.to_thread(self.locate, order, name)
        if located is None:
            return _page("download_gone", 404)
        if isinstance(located, str):
            raise web.HTTPFound(located)
        disposition = f'attachment; filename="{name}{Path(located).suffix}"'
        return web.FileResponse(located, headers={"Content-Disposition": disposition})


class BuyLinks:
    """GET /buy/{token}: the preview's own Buy button (Discord), one tap from chat to Checkout.

    The token (:meth:`DownloadLinks.buy_url`) names one preview job; opening it orders that
    song's full stems for the preview's owner — the order it already has, or a new one, with
    their current format and karaoke choices (:data:`~payments.fulfilment.PrepareBuy`) — opens
    (or, within the idempotency window, gets back) its Checkout Session, and answers 303 to it.
    So no session exists for a preview nobody buys, and opening the link twice reuses the
    order. Whoever opens it pays for the owner's order and the stems go to the owner: the link
    grants nothing but the chance to pay."""

    def __init__(self, payments: Payments, links: DownloadLinks, prepare: PrepareBuy) -> None:
        if payments.stripe is None:
            raise ValueError("buy links need STRIPE_API_KEY")
        self.payments = payments
        self.stripe = payments.stripe
        self.links = links
        self.prepare = prepare

    async def handle(self, request: web.Request) -> web.StreamResponse:
        job_id = self.links.verify_buy(request.match_info["token"])
        if job_id is None:
            return _page("buy_expired", 403)
        gone = _page("buy_song_gone", 410)
        wanted = await asyncio.to_thread(self.prepare, job_id)
        if wanted is None:
            return gone
        ledger = self.payments.ledger
        user = await asyncio.to_thread(self.payments.users.get, wanted.platform, wanted.user_id)
        if user is None or user.banned:
            return _page("buy_refused", 403)
        order = await asyncio.to_thread(
            ledger.create_order,
            user,
            wanted.song_key,
            wanted.job_id,
            output_format=wanted.output_format,
            karaoke=wanted.karaoke,
        )
        if order.state in (OrderState.PAID, OrderState.DELIVERED):
            return _page("buy_paid")
        if not order.payable:
            return _page("buy_not_payable", 409)
        try:  # the session expires before the song can be deleted
            link = await self.stripe.create_session(order, keep_s=wanted.keep_s, language=wanted.language)
        except SongExpiring:
            return gone
        await asyncio.to_thread(ledger.attach_checkout_session, order.id, link.session_id)
        raise web.HTTPSeeOther(link.url)


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _checkout_done(_request: web.Request) -> web.Response:
    return _page("checkout_done")


async def _checkout_cancelled(_request: web.Request) -> web.Response:
    return _page("checkout_cancelled")


def build_app(
    payments: Payments,
    fulfilment: Fulfilment,
    *,
    locate_stem: StemLocator | None = None,
    job_results: ResultSource | None = None,
    prepare_buy: PrepareBuy | None = None,
    uploads: UploadRoutes | None = None,
    page_tools: PageTools | None = None,
) -> tuple[web.Application, StripeWebhook | None]:
    """The HTTP app and its Stripe webhook (None without STRIPE_WEBHOOK_SECRET: no such route).
    Downloads, results pages and upload links need DOWNLOAD_SECRET, buy links DOWNLOAD_SECRET
    and STRIPE_API_KEY."""
    settings = payments.settings
    # A request body is read whole only up to this; an upload streams (web.uploads).
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[browser_language])
    webhook = None
    if settings.stripe_webhook_secret:
        webhook = StripeWebhook(payments, fulfilment, settings.stripe_webhook_secret)
        webhook.add_routes(app.router)
    app.router.add_get("/healthz", _health)
    app.router.add_get("/checkout/done", _checkout_done)
    app.router.add_get("/checkout/cancelled", _checkout_cancelled)
    if locate_stem is not None and settings.download_secret:
        downloads = Downloads(payments, DownloadLinks(settings), locate_stem)
        app.router.add_get("/download/{order_id}/{name}", downloads.handle)
    if job_results is not None and settings.download_secret:
        ResultsPage(payments, DownloadLinks(settings), job_results, page_tools).add_routes(app.router)
    if prepare_buy is not None and settings.download_secret and payments.stripe is not None:
        buy = BuyLinks(payments, DownloadLinks(settings), prepare_buy)
        app.router.add_get("/buy/{token}", buy.handle)
    if uploads is not None and settings.download_secret:
        uploads.add_routes(app.router)
    return app, webhook


async def _sweep(webhook: StripeWebhook, payments: Payments, hooks: ServiceHooks, interval_s: float) -> None:
    """Every ``interval_s``: fulfilment starts that failed, then the whole recovery again —
    pending refunds re-sent, and every paid order re-driven through ``on_paid``, which also
    reconciles an order whose job ended but whose end the event stream lost (trimmed before a
    bot read it): a paid order ends delivered or refunded within a few rounds, not never."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await webhook.retry_failed_starts()
            await payments.recover(hooks.on_paid, hooks.give_up)
        except Exception:
            log.exception("periodic payments sweep failed; next one in %.0f s", interval_s)


HooksFactory = Callable[[Payments], ServiceHooks]


async def serve(
    settings: Settings,
    make_hooks: HooksFactory,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[int], Awaitable[None] | None] | None = None,
    sweep_interval_s: float = SWEEP_INTERVAL_S,
    registry: CollectorRegistry | None = None,
) -> None:
    """Migrate, recover (as the payments service), then serve until ``stop`` is set (forever by
    default).

    Where this server takes Stripe's webhooks it is the payments service: recovery runs before
    the port opens, so a restarted service first finishes what the crashed one left (paid
    orders, pending refunds), then takes new payments, and again every ``sweep_interval_s``.
    Without them it serves pages, downloads and uploads only, and the Telegram bot recovers.
    With a ``registry`` (the process's, whose ``/metrics`` :func:`main` serves) the
    deployment-wide figures are added to it — paid-but-undelivered orders, and the hooks' queue
    figures: this server is the one process that exports them (there is one per deployment, the
    bots and workers are many).
    """
    payments = await asyncio.to_thread(Payments.open, settings)
    runner: web.AppRunner | None = None
    sweeper: asyncio.Task | None = None
    hooks: ServiceHooks | None = None
    collectors: list[Collector] = []
    try:
        hooks = make_hooks(payments)
        if registry is not None:
            collectors = [OrdersCollector(payments.ledger), *hooks.collectors]
            for collector in collectors:
                registry.register(collector)
        if settings.takes_stripe_webhooks:
            report = await payments.recover(hooks.on_paid, hooks.give_up)
            log.info("recovery done: %s", report)
        fulfilment = payments.fulfilment(hooks.on_paid)
        app, webhook = build_app(
            payments,
            fulfilment,
            locate_stem=hooks.locate_stem,
            job_results=hooks.job_results,
            prepare_buy=hooks.prepare_buy,
            uploads=hooks.uploads,
            page_tools=hooks.page_tools,
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
        await site.start()
        port = runner.addresses[0][1]
        log.info(
            "web server on %s:%d (%s)",
            settings.webhook_host,
            port,
            "with the Stripe webhook" if webhook is not None else "no Stripe webhook",
        )
        if webhook is not None:
            sweeper = asyncio.create_task(_sweep(webhook, payments, hooks, sweep_interval_s))
        if on_ready is not None:
            maybe = on_ready(port)
            if inspect.isawaitable(maybe):
                await maybe
        await (stop or asyncio.Event()).wait()
    finally:
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        if runner is not None:
            await runner.cleanup()
        for collector in collectors:
            assert registry is not None
            registry.unregister(collector)
        if hooks is not None and hooks.close is not None:
            hooks.close()
        payments.close()


def main() -> None:
    from web import jobs_bridge  # the composition root is the only place that needs jobs

    settings, log_settings, metrics_settings = load_or_exit(
        "web.server", [Settings, logs.LogSettings, metrics.MetricsSettings]
    )
    logs.setup(log_settings, "web", secrets=logs.secrets_of(settings))
    if not settings.download_secret and not settings.stripe_webhook_secret:
        raise SystemExit(
            "nothing to serve: set DOWNLOAD_SECRET (results pages, downloads, uploads) and/or "
            "STRIPE_WEBHOOK_SECRET (the Stripe webhook)"
        )
    metrics.serve(metrics_settings, "web")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, jobs_bridge.service_hooks, stop=stop, registry=REGISTRY)

    asyncio.run(run())


if __name__ == "__main__":
    main()
