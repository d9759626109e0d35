"""What the composing process plugs into the web server: how to start paid work, where stems
live, what a finished job holds (for its results page) and what a buy link orders.

Plain values and callables, so ``web`` and ``payments`` never import ``jobs``: the jobs bridge
(:mod:`web.jobs_bridge`) fills them in production, tests with plain functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web
from prometheus_client.registry import Collector

from payments.fulfilment import GiveUp, OnPaid
from web.downloads import StemLocator
from web.job_results import ResultSource
from web.page_tools import PageTools


@dataclass(frozen=True)
class BuyRequest:
    """What a buy link's preview orders (:class:`web.server.BuyLinks`): its owner, the
    song, and the owner's current choices (format, karaoke version) — as the bot's Buy button
    would order it — plus how long the song is now sure to stay stored (``keep_s``)."""

    platform: str
    user_id: str
    song_key: str
    job_id: str
    keep_s: float
    output_format: str | None = None
    karaoke: str | None = None
    language: str = ""  # the preview's: Checkout opens in it


# A buy link was opened: the preview job's order request, its song's retention clock restarted;
# None when there is no such finished preview, or its song is gone.
PrepareBuy = Callable[[str], BuyRequest | None]


class UploadRoutes(Protocol):
    """Where songs sent by upload link come in (``web.uploads.UploadDesk``, which knows the
    job pipeline): its routes, added to the server's."""

    def add_routes(self, router: web.UrlDispatcher) -> None: ...


@dataclass(frozen=True)
class ServiceHooks:
    """What the composing process plugs in: how to start paid work, where stems live, what a
    finished job holds (for its results page), what a buy link orders, where songs sent by
    upload link go in (``uploads``), and what to close when the server stops."""

    on_paid: OnPaid
    locate_stem: StemLocator | None = None
    job_results: ResultSource | None = None
    give_up: GiveUp | None = None
    prepare_buy: PrepareBuy | None = None
    page_tools: PageTools | None = None  # the results page's mixer and karaoke settings
    # The pipeline's deployment-wide figures (``jobs.gauges``), exported by this one process.
    collectors: tuple[Collector, ...] = ()
    uploads: UploadRoutes | None = None
    close: Callable[[], None] | None = None
