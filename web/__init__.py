"""The web: the HTTP server (``python -m web.server``: results pages, signed stem downloads,
uploads by link, buy links, checkout landing pages, and the Stripe webhook where Stripe is set
up), the signed links it serves, and the pages.

* :mod:`web.server` — the aiohttp application and its ``main``;
* :mod:`web.downloads` — ``DownloadLinks`` (signed, expiring stem links, results-page and buy-link
  tokens) and ``results_page_url``, which the bots use to make links;
* :mod:`web.results_page`, :mod:`web.results_html`, :mod:`web.job_results` — a finished job's
  page: what it knows of the job, its HTML, its handlers;
* :mod:`web.stem_segments`, :mod:`web.stem_cache`, ``web/static/mixer.js`` — the page's stem
  mixer: exact decoded segments, S3 stems' local copies, the page's one script;
* :mod:`web.page_karaoke`, :mod:`web.page_tools` — a preview's karaoke settings on its page, and
  the hooks the mixer and karaoke need from the job pipeline;
* :mod:`web.upload_links`, :mod:`web.uploads`, :mod:`web.upload_html` — one-time upload links,
  the page that takes a song through one, and its HTML and script;
* :mod:`web.admission` — who may send a song now and a checked song into the line: the one
  admission of both doors (the chat's, ``bots.core.songs``, and the upload page's);
* :mod:`web.hooks` — what the composing process plugs in (``ServiceHooks``);
* :mod:`web.jobs_bridge` — fills those hooks from a ``jobs.JobQueue`` (the bots reuse its
  ``on_paid``, ``song_available``, ``locate_stem``).

Direction: ``web`` is the top of the store's rooms: it imports ``payments``, ``people``, ``db``,
``service`` and — in the modules that meet the job pipeline (``jobs_bridge``, ``admission``,
``uploads``), never in ``server`` — ``jobs``; nothing below imports it. One exception is
allowed by ``tests/test_layout.py`` and named there: ``jobs_bridge`` reads the bots' saved
choices (``bots.core.state``) for a buy link, as the bot's Buy button does.
"""

from web.downloads import DownloadLinks, PageGrant, StemLocator, results_page_url
from web.hooks import BuyRequest, PrepareBuy, ServiceHooks
from web.job_results import JobResults, ResultSource, StoredFile

__all__ = [
    "BuyRequest",
    "DownloadLinks",
    "JobResults",
    "PageGrant",
    "PrepareBuy",
    "ResultSource",
    "ServiceHooks",
    "StemLocator",
    "StoredFile",
    "results_page_url",
]
