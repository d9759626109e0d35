"""The results page of one finished job: ``GET /r/<token>`` and the files it links to.

Served by the payments HTTP service (``python -m web.server``) beside the download links.
Bots get the address from :func:`web.downloads.results_page_url`.

Routes (``<token>`` is ``<job id>.<expiry>.<HMAC>``, see :mod:`web.downloads`):

* ``GET /r/<token>``: the page; ``POST /r/<token>`` (``rating=up|down``): feedback, answered
  with a redirect back to the page (post/redirect/get, no script needed);
* ``GET /r/<token>/mixer.json`` and ``GET /r/<token>/segment/<stem>/<i>.flac``: the mixer's
  layout and its short decoded segments (:mod:`web.stem_segments`), always from our own origin
  (an S3 stem through the web server's cache); ``GET /static/mixer.js``: the page's one script;
* ``POST /r/<token>/karaoke`` and ``GET /r/<token>/karaoke/<settings>/{status,audio,file}``: a
  preview's karaoke version asked for and fetched (:mod:`web.page_karaoke`);
* ``GET /r/<token>/audio/<stem>``: the stem inline for the page's ``<audio>`` player,
  ``GET /r/<token>/file/<stem>``: the same file as an attachment (download button),
  ``GET /r/<token>/waveform.png``: the picture. Local files are served with HTTP Range
  (aiohttp's ``FileResponse``: ``206`` + ``Content-Range``, ``416`` past the end), so players
  seek; S3 objects are a redirect to a presigned URL;
* anything else under ``/r``: a friendly 404; there is no listing of anything.

Invariants, and why:

* a token names exactly one job, and every file is looked up by that job's id and a stem name
  from :data:`STEMS` (or its karaoke version, or the waveform) — never by a path from the
  request — so no URL, encoded or not, reaches another job's file or anything outside the results;
* every request is checked on its own (signature, expiry, job still stored, order not refunded):
  a file URL copied out of the page dies with the page;
* a forged or expired link gets a 403 page that says so; nothing is cached (``no-store``), the
  URL never leaks to another site (``Referrer-Policy: no-referrer``), and the
  Content-Security-Policy lets the page load only from this origin (plus the storage origin of
  presigned S3 URLs, for the plain players), so it makes no third-party request; its one script
  is our own file (``script-src 'self'``, nothing inline), and the page works without it;
* feedback from the page is the job owner's rating, stored like the chat's 👍/👎 buttons: one per
  person and job, a new press replaces the old one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

from aiohttp import web

from db.tables import OrderState
from payments.service import Payments
from people.feedback import SOURCE_BUTTON
from texts import web as words
from texts.languages import current, speak
from web import results_html
from web.downloads import DownloadLinks, PageGrant
from web.job_results import JobResults, ResultSource, StoredFile
from web.page_tools import PageTools
from web.stem_segments import SEGMENT_CONTENT_TYPE, SEGMENT_FRAMES, segment, stem_info

log = logging.getLogger(__name__)

STEMS = ("vocals", "instrumental")
KARAOKE = "karaoke"  # a paid job's karaoke version, listed only where the job has one
WAVEFORM = "waveform"
CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".png": "image/png",
}
RATINGS = {results_html.RATING_UP: (1, "👍"), results_html.RATING_DOWN: (-1, "👎")}
MAX_FORM_BYTES = 1024  # a rating form is a dozen bytes
MAX_FILE_TITLE_CHARS = 60
# Files never change under a job id, but a link can be revoked (refund): cache briefly, privately.
FILE_CACHE_CONTROL = "private, max-age=300"
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}


def content_disposition(kind: str, filename: str) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients and ``filename*`` in UTF-8."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in filename)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_name(results: JobResults, stem: str, suffix: str) -> str:
    """``<title> (<stem>).<fmt>``, ``(<stem>, preview)`` for a preview; path-hostile characters
    dropped (the title comes from the person's file name)."""
    cleaned = "".join(c for c in results.title if c.isalnum() or c in " -_.,()&'").strip(" .")
    part = words.download_part(stem, results.preview)
    return f"{cleaned[:MAX_FILE_TITLE_CHARS] or words.song()} ({part}){suffix}"


def _csp(files: Mapping[str, StoredFile]) -> str:
    """Only this origin, plus the storage origin of presigned URLs (still ours, not a third
    party); no script at all; the page's one style block by its hash."""
    extra = sorted(
        {
            f"{parts.scheme}://{parts.netloc}"
            for f in files.values()
            if isinstance(f.location, str) and (parts := urlsplit(f.location)).netloc
        }
    )
    sources = " ".join(["'self'", *extra])
    return (
        f"default-src 'none'; img-src {sources}; media-src {sources}; "
        f"style-src '{results_html.CSP_STYLE_HASH}'; script-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def _html(text: str, status: int = 200, csp: str | None = None) -> web.Response:
    headers = {
        **SECURITY_HEADERS,
        "Cache-Control": "no-store",
        "Content-Security-Policy": csp or _csp({}),
    }
    return web.Response(text=text, status=status, content_type="text/html", headers=headers)


def message(notice: str, status: int) -> web.Response:
    """The refusal page named ``notice`` (``texts.web``), with ``status``."""
    return _html(results_html.message_page(*words.notice(notice)), status)


def forbidden(grant: PageGrant | None) -> web.Response:
    if grant is not None and grant.expired:
        return message("results_expired", 403)
    return message("results_invalid", 403)


GONE = "results_gone"
SCRIPT = Path(__file__).with_name("static") / "mixer.js"
SCRIPT_CACHE_CONTROL = "public, max-age=3600"


def json_reply(data: object, status: int = 200) -> web.Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
    return web.json_response(data, status=status, headers=headers)


class ResultsPage:
    """The aiohttp handlers; :meth:`add_routes` puts them on an app's router."""

    def __init__(
        self,
        payments: Payments,
        links: DownloadLinks,
        source: ResultSource,
        tools: PageTools | None = None,
    ) -> None:
        from web.page_karaoke import KaraokeOnPage  # it builds on this module's checks

        self.payments = payments
        self.links = links
        self.source = source
        self.tools = tools
        self.karaoke = KaraokeOnPage(self, tools.karaoke) if tools and tools.karaoke else None

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/r/{token}", self.page)  # add_get answers HEAD the same way
        router.add_post("/r/{token}", self.rate)
        if self.tools is not None:
            router.add_get("/static/mixer.js", self.script)
            router.add_get("/r/{token}/mixer.json", self.mixer)
            router.add_get(r"/r/{token}/segment/{stem}/{index:[0-9]{1,6}}.flac", self.segment)
        if self.karaoke is not None:
            self.karaoke.add_routes(router)
        router.add_get("/r/{token}/audio/{stem}", self.audio)
        router.add_get("/r/{token}/file/{stem}", self.download)
        router.add_get("/r/{token}/waveform.png", self.waveform)
        # Last: whatever under /r nothing above matched (not /robots.txt or other /r… routes).
        router.add_route("*", "/r", self.not_found)
        router.add_route("*", "/r/{tail:.*}", self.not_found)

    # ------------------------------------------------------------------ checks

    async def _results(self, request: web.Request) -> tuple[PageGrant, JobResults] | web.Response:
        """The token's grant and job, or the refusal to send instead."""
        grant = self.links.verify_page(request.match_info["token"])
        if grant is None or grant.expired:
            return forbidden(grant)
        results = await asyncio.to_thread(self.source, grant.job_id)
        if results is None:
            return message(GONE, 410)
        if results.job_id != grant.job_id:  # a source bug must not show another job
            log.error("result source answered job %s for %s", results.job_id, grant.job_id)
            return message(GONE, 410)
        if results.order_id is not None:
            order = await asyncio.to_thread(self.payments.ledger.get_order, results.order_id)
            if order is None or order.state not in (OrderState.PAID, OrderState.DELIVERED):
                return message("refunded", 410)
        return grant, results

    # ------------------------------------------------------------------ the page

    async def page(self, request: web.Request) -> web.Response:
        """The page in its job's language (the browser's for a job from before languages)."""
        checked = await self._results(request)
        if isinstance(checked, web.Response):
            return checked
        with speak(checked[1].language or current()):
            karaoke = await self.karaoke.view(request, checked[1]) if self.karaoke is not None else None
            return self._page(request, *checked, karaoke)

    def _page(
        self,
        request: web.Request,
        grant: PageGrant,
        results: JobResults,
        karaoke: results_html.KaraokeView | None,
    ) -> web.Response:
        rated = request.query.get("rated")
        mixable = self.tools is not None and all(name in results.files for name in STEMS)
        view = results_html.PageView(
            token=request.match_info["token"],
            title=results.title,
            preview=results.preview,
            clip_s=results.clip_s,
            start_s=results.start_s,
            stems=[
                results_html.StemView(
                    name,
                    results.files[name].suffix if name in results.files else None,
                    results.files[name].size if name in results.files else None,
                )
                for name in (*STEMS, *([KARAOKE] if KARAOKE in results.files else []))
            ],
            has_waveform=WAVEFORM in results.files,
            expires=grant.expires,
            rated=rated if rated in RATINGS else None,
            analysis=results.analysis,
            preview_analysis=results.preview_analysis,
            mixer=mixable,
            karaoke=karaoke,
        )
        return _html(results_html.results_page(view), csp=_csp(results.files))

    async def rate(self, request: web.Request) -> web.StreamResponse:
        """👍/👎 from the page: the job owner's one rating of this job (replaced by a new one)."""
        checked = await self._results(request)
        if isinstance(checked, web.Response):
            return checked
        results = checked[1]
        if (request.content_length or 0) > MAX_FORM_BYTES:
            return message("form_too_large", 413)
        form = await request.post()
        choice = form.get("rating")
        if not isinstance(choice, str) or choice not in RATINGS:
            return message("form_unknown", 400)
        rating, emoji = RATINGS[choice]

        def record() -> None:
            user = self.payments.users.get_or_create(results.platform, results.user_id)
            if user.banned:
                return
            self.payments.feedback.record(
                user, results.job_id, results.model_version, rating, SOURCE_BUTTON, emoji
            )

        await asyncio.to_thread(record)
        token = request.match_info["token"]
        # Relative to /r/<token>: back to the same page, whatever prefix PUBLIC_BASE_URL has.
        raise web.HTTPSeeOther(f"{token}?rated={choice}", headers=SECURITY_HEADERS)

    # ------------------------------------------------------------------ files

    async def audio(self, request: web.Request) -> web.StreamResponse:
        return await self._file(request, request.match_info["stem"], "inline")

    async def download(self, request: web.Request) -> web.StreamResponse:
        return await self._file(request, request.match_info["stem"], "attachment")

    async def waveform(self, request: web.Request) -> web.StreamResponse:
        return await self._file(request, WAVEFORM, "inline")

    async def _file(self, request: web.Request, name: str, disposition: str) -> web.StreamResponse:
        if name not in (*STEMS, KARAOKE, WAVEFORM):
            return await self.not_found(request)
        checked = await self._results(request)
        if isinstance(checked, web.Response):
            return checked
        results = checked[1]
        return self.serve(results, name, results.files.get(name), disposition)

    def serve(
        self, results: JobResults, name: str, stored: StoredFile | None, disposition: str
    ) -> web.StreamResponse:
        """One of the job's files as ``name`` (which names the download), ranged when local."""
        if stored is None:
            return message("file_gone", 410)
        if isinstance(stored.location, str):
            raise web.HTTPFound(stored.location, headers=SECURITY_HEADERS)
        with speak(results.language or current()):  # "song (vocals).mp3" in the job's words
            filename = (
                download_name(results, name, stored.suffix)
                if name != WAVEFORM
                else f"{download_name(results, 'waveform', '')}{stored.suffix}"
            )
        headers = {
            **SECURITY_HEADERS,
            "Content-Type": CONTENT_TYPES.get(stored.suffix, "application/octet-stream"),
            "Content-Disposition": content_disposition(disposition, filename),
            "Cache-Control": FILE_CACHE_CONTROL,
        }
        return web.FileResponse(stored.location, headers=headers)

    # ------------------------------------------------------------------ the mixer

    async def script(self, _request: web.Request) -> web.StreamResponse:
        headers = {**SECURITY_HEADERS, "Cache-Control": SCRIPT_CACHE_CONTROL}
        return web.FileResponse(SCRIPT, headers={**headers, "Content-Type": "text/javascript"})

    async def _stems(self, request: web.Request) -> tuple[JobResults, dict[str, Path]] | web.Response:
        """The job and a local file of each stem (an S3 stem through the cache), or a refusal."""
        assert self.tools is not None
        checked = await self._results(request)
        if isinstance(checked, web.Response):
            return checked
        results = checked[1]
        paths: dict[str, Path] = {}
        for name in STEMS:
            path = await asyncio.to_thread(self.tools.read_stem, results.job_id, name)
            if path is None:
                return message("file_gone", 410)
            paths[name] = path
        return results, paths

    async def mixer(self, request: web.Request) -> web.Response:
        """The mixer's layout: both stems' common length in frames, the segment length."""
        stems = await self._stems(request)
        if isinstance(stems, web.Response):
            return stems
        infos = [await asyncio.to_thread(stem_info, path) for path in stems[1].values()]
        return json_reply(
            {
                "sampleRate": infos[0].sample_rate,
                "frames": min(info.frames for info in infos),
                "segmentFrames": SEGMENT_FRAMES,
                "stems": list(STEMS),
            }
        )

    async def segment(self, request: web.Request) -> web.StreamResponse:
        """Segment ``index`` of one stem, decoded to exact frames (:mod:`web.stem_segments`)."""
        name = request.match_info["stem"]
        if name not in STEMS:
            return await self.not_found(request)
        stems = await self._stems(request)
        if isinstance(stems, web.Response):
            return stems
        data = await asyncio.to_thread(segment, stems[1][name], int(request.match_info["index"]))
        if data is None:
            return await self.not_found(request)
        headers = {**SECURITY_HEADERS, "Cache-Control": FILE_CACHE_CONTROL}
        return web.Response(body=data, content_type=SEGMENT_CONTENT_TYPE, headers=headers)

    async def not_found(self, _request: web.Request) -> web.Response:
        return message("not_found", 404)
