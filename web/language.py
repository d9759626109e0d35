"""Which language a page speaks: the browser's (``Accept-Language``) unless the page knows
better — a results page speaks its job's language (:meth:`web.results_page.ResultsPage.page`).

One aiohttp middleware, so every page and refusal the server writes is in a language the
person reads, English when the browser names none we speak."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from texts.languages import from_accept_language, speak

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def browser_language(request: web.Request, handler: Handler) -> web.StreamResponse:
    with speak(from_accept_language(request.headers.get("Accept-Language"))):
        return await handler(request)
