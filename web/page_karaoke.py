"""A preview's karaoke settings on its results page: the same render as a chat tap, shown there.

Routes (under the page's signed ``/r/<token>``; every request checked as the page is):

* ``POST /r/<token>/karaoke`` (``guide``, ``key``, ``tempo``): ask for that version. It is the
  chat's own render (:meth:`jobs.JobQueue.render_karaoke` through :class:`PageKaraoke`) under the
  chat's limits and refusals, in the chat's words (``texts.chat``): the request rate, one render
  in line per person, ``KARAOKE_RENDERS_PER_DAY``, the workers' back-pressure, banned people; it
  is saved as the owner's preference as a tap is, so buying later orders it. Answered with a
  redirect back to the page, which says what happened and shows the version when it is ready
  (post/redirect/get: no script needed);
* ``GET /r/<token>/karaoke/<settings>/status``: ``{"state": "ready" | "pending" | "failed" |
  "none"}``, which the page's script polls to put the new player in without a reload (with no
  script the page refreshes itself while the render is pending);
* ``GET /r/<token>/karaoke/<settings>/audio`` and ``…/file``: the ready version, inline and as
  a download.

Only the page's owner gets this far: the token is signed for one job and the bot gives it to its
owner alone, as with the downloads; the render and the preference are always the job owner's,
whoever holds the link. ``<settings>`` is the compact form (``g12.k2.t90``), parsed by
:class:`KaraokeSettings`, so no path from the request reaches storage. The worker's result event
still goes to the chat too (the same job): the clip also arrives there.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from engine.karaoke import (
    GUIDE_LEVELS_DB,
    MAX_SEMITONES,
    MIN_SEMITONES,
    TEMPO_CHOICES,
    KaraokeSettings,
    KaraokeSettingsError,
)
from texts import chat
from web import results_html
from web.job_results import JobResults
from web.page_tools import PageKaraoke, RenderAnswer, Variant, VariantState

if TYPE_CHECKING:
    from web.results_page import ResultsPage

MAX_FORM_BYTES = 256  # three short fields
GUIDE_OFF = "off"
BANNED = "banned"
GUIDE_CHOICES = {GUIDE_OFF: None, **{f"{abs(level):g}": level for level in GUIDE_LEVELS_DB}}
# What the page says after a request, by the answer's name in the redirect (``asked=``).
ANSWERS = {*(answer.value for answer in RenderAnswer), BANNED}


def settings_from_form(guide: object, key: object, tempo: object) -> KaraokeSettings:
    """The settings the three fields name; :class:`KaraokeSettingsError` for anything else."""
    if not isinstance(guide, str) or guide not in GUIDE_CHOICES:
        raise KaraokeSettingsError(f"guide {guide!r}")
    try:
        semitones = int(str(key)) if isinstance(key, str) and len(key) <= 3 else None
        percent = int(str(tempo)) if isinstance(tempo, str) and len(tempo) <= 3 else None
    except ValueError:
        raise KaraokeSettingsError(f"key {key!r} or tempo {tempo!r}") from None
    if semitones is None or percent is None:
        raise KaraokeSettingsError(f"key {key!r} or tempo {tempo!r}")
    return KaraokeSettings(GUIDE_CHOICES[guide], semitones, percent)


def answer_text(answer: str, settings: KaraokeSettings, per_day: int) -> str:
    """The chat's words for what a request came to."""
    if answer == RenderAnswer.QUEUED:
        return chat.karaoke_rendering(settings)
    if answer == RenderAnswer.QUOTA:
        return chat.karaoke_quota(per_day)
    name = {
        RenderAnswer.ALREADY: "KARAOKE_ALREADY_MAKING",
        RenderAnswer.ORIGINAL: "KARAOKE_ORIGINAL",
        RenderAnswer.ONE_AT_A_TIME: "KARAOKE_ONE_AT_A_TIME",
        RenderAnswer.BUSY: "KARAOKE_BUSY",
        RenderAnswer.GONE: "KARAOKE_PREVIEW_GONE",
        RenderAnswer.SLOW_DOWN: "KARAOKE_SLOW_DOWN",
        BANNED: "BANNED",
    }[answer]
    text: str = getattr(chat, name)
    return text


class KaraokeOnPage:
    def __init__(self, page: ResultsPage, hooks: PageKaraoke) -> None:
        self.page = page
        self.hooks = hooks

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/r/{token}/karaoke", self.ask)
        router.add_get("/r/{token}/karaoke/{form}/status", self.status)
        router.add_get("/r/{token}/karaoke/{form}/audio", self.audio)
        router.add_get("/r/{token}/karaoke/{form}/file", self.download)

    # ------------------------------------------------------------------ the page's section

    async def view(self, request: web.Request, results: JobResults) -> results_html.KaraokeView | None:
        """The section of a preview's page: the form (the version shown, else the owner's saved
        choice), what the last request came to, and the version asked for where it stands."""
        if not results.preview:
            return None
        shown = _parse(request.query.get("version", ""))
        if shown is not None:
            chosen = shown
        else:
            chosen = await asyncio.to_thread(self.hooks.preference, results.platform, results.user_id)
        asked = request.query.get("asked", "")
        said = answer_text(asked, chosen, self.hooks.per_day) if asked in ANSWERS else None
        state = VariantState.NONE
        if shown is not None and not shown.is_identity:
            state = (await asyncio.to_thread(self.hooks.variant, results.job_id, shown)).state
        return results_html.KaraokeView(
            chosen=chosen,
            shown=shown if shown is not None and not shown.is_identity else None,
            state=state.value,
            said=said,
            guide_choices=tuple(GUIDE_CHOICES),
            key_choices=tuple(range(MIN_SEMITONES, MAX_SEMITONES + 1)),
            tempo_choices=TEMPO_CHOICES,
        )

    # ------------------------------------------------------------------ handlers

    async def _preview(self, request: web.Request) -> JobResults | web.Response:
        checked = await self.page._results(request)
        if isinstance(checked, web.Response):
            return checked
        if not checked[1].preview:  # a paid job's karaoke version is the one its order chose
            return await self.page.not_found(request)
        return checked[1]

    async def ask(self, request: web.Request) -> web.StreamResponse:
        from web.results_page import SECURITY_HEADERS, message

        results = await self._preview(request)
        if isinstance(results, web.Response):
            return results
        if (request.content_length or 0) > MAX_FORM_BYTES:
            return message("form_too_large", 413)
        form = await request.post()
        try:
            settings = settings_from_form(form.get("guide"), form.get("key"), form.get("tempo"))
        except KaraokeSettingsError:
            return message("karaoke_unknown", 400)
        payments = self.page.payments
        user = await asyncio.to_thread(payments.users.get_or_create, results.platform, results.user_id)
        if user.banned:
            answer: str = BANNED
        elif not payments.rate_limiter.allow(f"{results.platform}:{results.user_id}"):
            answer = RenderAnswer.SLOW_DOWN
        else:
            answer = await asyncio.to_thread(self.hooks.render, results.job_id, settings)
        token = request.match_info["token"]
        # Relative to /r/<token>/karaoke: back to the page, whatever prefix PUBLIC_BASE_URL has.
        target = f"../{token}?version={settings.to_string()}&asked={answer}#karaoke"
        raise web.HTTPSeeOther(target, headers=SECURITY_HEADERS)

    async def status(self, request: web.Request) -> web.StreamResponse:
        from web.results_page import json_reply

        found = await self._variant(request)
        if isinstance(found, web.StreamResponse):
            return found
        _results, variant = found
        return json_reply({"state": variant.state.value})

    async def audio(self, request: web.Request) -> web.StreamResponse:
        return await self._file(request, "inline")

    async def download(self, request: web.Request) -> web.StreamResponse:
        return await self._file(request, "attachment")

    async def _file(self, request: web.Request, disposition: str) -> web.StreamResponse:
        found = await self._variant(request)
        if isinstance(found, web.StreamResponse):
            return found
        results, variant = found
        return self.page.serve(results, "karaoke", variant.file, disposition)

    async def _variant(self, request: web.Request) -> tuple[JobResults, Variant] | web.StreamResponse:
        """The preview's karaoke version the URL's ``form`` names, or the answer that it has none."""
        results = await self._preview(request)
        if isinstance(results, web.Response):
            return results
        settings = _parse(request.match_info["form"])
        if settings is None:
            return await self.page.not_found(request)
        return results, await asyncio.to_thread(self.hooks.variant, results.job_id, settings)


def _parse(form: str) -> KaraokeSettings | None:
    try:
        return KaraokeSettings.parse(form)
    except (KaraokeSettingsError, ValueError):
        return None
