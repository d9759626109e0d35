"""Songs sent through an upload link: ``/u/<token>`` (:mod:`web.upload_links`).

A file too big for the chat (or any file, after ``/upload``) comes in here and then goes on
exactly as if it had been sent in the chat where the link was asked for: the same checks with
the same friendly words (:mod:`jobs.intake`, :mod:`web.admission`), submitted through the same
jobs façade, and the bot told by an event (``jobs.events.UPLOAD_KIND``), which sends the status
message; the job's own events bring the preview, its buttons and the payment after.

Routes (``<token>``: an upload link's):

* ``GET /u/<token>``: the page, a plain form (:mod:`web.upload_html`), and ``GET /u/upload.js``
  our script for it (a progress bar; the page works without it);
* ``POST /u/<token>/check?size=N``: the script asks first whether a file of N bytes would be
  taken (link, declared size, ban, line): a refused file is never sent;
* ``POST /u/<token>``: the file, ``multipart/form-data`` field ``file``. Answered with a page,
  or with JSON (``{"ok", "title", "text"}``) where the request accepts it (the script).

Invariants, and why:

* checks in order of cost: the link (signature, expiry, unused); the declared size (the
  request's ``Content-Length``) before a byte is read; ban, rate and the line's length before
  the file is taken; the file's size while it streams (stopped past ``MAX_FILE_BYTES``), then
  ``engine.audio.probe``; today's previews last — the same refusals the chat gives;
* the file streams to disk in :data:`CHUNK_BYTES` pieces (aiohttp's multipart reader), never
  whole in memory (``bench/upload_memory.py`` measures it), into a private directory that is
  removed when the song is queued, refused or cut off: an interrupted upload leaves nothing;
* a link takes one song: while a file comes in through it the link is claimed (a second tab
  waits), and it is spent only once a song got in; a refused or interrupted upload leaves it
  usable until it expires (:class:`LinkUses`);
* the page sends nothing to another site: ``default-src 'none'``, our script only
  (``script-src 'self'``), requests to ourselves only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from pathlib import Path

import redis
from aiohttp import BodyPartReader, ClientPayloadError, web

from jobs import JobQueue, JobRecord, keys, stored_name
from jobs.events import UPLOAD_KIND, EventType, JobEvent, publish
from jobs.intake import Rejected, check_declared_size, open_workdir, probe_received, too_large
from payments.service import Payments
from service.limits import MAX_FILE_BYTES
from texts import web as words
from texts.languages import speak
from texts.units import whole_megabytes
from web import upload_html
from web.admission import Admission
from web.upload_links import UploadGrant, UploadLinks

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
# What a multipart body holds beside the file (boundaries, the part's headers): a request this
# much over the largest file may still carry a file within it.
MULTIPART_SLACK_BYTES = 64 * 1024
FILE_FIELD = "file"
BUSY = "busy"
USED = "used"
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "no-store",
}
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; "
    f"style-src '{upload_html.CSP_STYLE_HASH}'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
# HTTP statuses of the refusals, by the refusal's code (others: 422).
STATUS_OF = {"too_large": 413, "too_big": 413, "banned": 403, "slow_down": 429, "quota": 429, "busy": 503}


class LinkUses:
    """Which upload links are in use or used (Redis, by the link's nonce, expiring with it)."""

    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection

    def state(self, nonce: str) -> str | None:
        value = self.connection.get(keys.upload_link(nonce))
        return value.decode() if isinstance(value, bytes) else value

    def claim(self, nonce: str, expires: int) -> str | None:
        """Take the link for one upload: None if taken, else what holds it (busy or used).
        Held until :meth:`release` or :meth:`spend`, at most until the link expires."""
        ttl = max(1, int(expires - time.time()) + 1)
        if self.connection.set(keys.upload_link(nonce), BUSY, nx=True, ex=ttl):
            return None
        return self.state(nonce) or BUSY

    def release(self, nonce: str) -> None:
        """The upload did not get a song in: the link may be used again."""
        key = keys.upload_link(nonce)
        with self.connection.pipeline() as pipe:
            try:
                pipe.watch(key)
                if pipe.get(key) in (BUSY, BUSY.encode()):
                    pipe.multi()
                    pipe.delete(key)
                    pipe.execute()
            except redis.WatchError:
                pass  # changed meanwhile: it is no longer this upload's

    def spend(self, nonce: str, expires: int) -> None:
        """A song got in: the link takes no other, until it expires anyway."""
        self.connection.set(keys.upload_link(nonce), USED, ex=max(1, int(expires - time.time()) + 1))


class UploadDesk:
    """The aiohttp handlers; :meth:`add_routes` puts them on an app's router."""

    def __init__(
        self,
        payments: Payments,
        queue: JobQueue,
        links: UploadLinks,
        spool_dir: Path,
        max_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        self.payments = payments
        self.queue = queue
        self.links = links
        self.spool_dir = spool_dir
        self.max_bytes = max_bytes
        self.uses = LinkUses(queue.connection)
        self.admission = Admission(payments.users, payments.rate_limiter, queue)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(f"/u/{upload_html.SCRIPT_NAME}", self.script)
        router.add_get("/u/{token}", self.page)
        router.add_post("/u/{token}/check", self.check)
        router.add_post("/u/{token}", self.upload)

    # ------------------------------------------------------------------ answers

    @staticmethod
    def _page(text: str, status: int = 200) -> web.Response:
        headers = {**SECURITY_HEADERS, "Content-Security-Policy": CSP}
        return web.Response(text=text, status=status, content_type="text/html", headers=headers)

    def _answer(
        self,
        request: web.Request,
        status: int,
        title: str,
        text: str,
        *,
        ok: bool = False,
        again: str | None = None,
    ) -> web.Response:
        if "application/json" in request.headers.get("Accept", ""):
            body = json.dumps({"ok": ok, "title": title, "text": text})
            return web.Response(
                text=body, status=status, content_type="application/json", headers=SECURITY_HEADERS
            )
        return self._page(upload_html.answer_page(title, text, again), status)

    def _notice(self, request: web.Request, name: str, status: int) -> web.Response:
        return self._answer(request, status, *words.notice(name))

    def _refused(self, request: web.Request, rejected: Rejected, token: str) -> web.Response:
        status = STATUS_OF.get(rejected.code, 422)
        return self._answer(request, status, words.upload_refused_title(), rejected.user_message, again=token)

    def _link_refusal(self, request: web.Request, grant: UploadGrant | None) -> web.Response | None:
        if grant is None:
            return self._notice(request, "upload_invalid", 403)
        if grant.expired:
            return self._notice(request, "upload_expired", 403)
        return None

    # ------------------------------------------------------------------ routes

    async def script(self, _request: web.Request) -> web.Response:
        return web.Response(
            text=upload_html.SCRIPT,
            content_type="application/javascript",
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    async def page(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        grant = self.links.verify(token)
        with speak(grant.language if grant else None):
            refusal = self._link_refusal(request, grant)
            if refusal is not None:
                return refusal
            assert grant is not None
            if await asyncio.to_thread(self.uses.state, grant.nonce) == USED:
                return self._notice(request, "upload_used", 410)
            minutes = round(self.queue.settings.max_duration_s / 60)
            text = upload_html.upload_page(token, whole_megabytes(self.max_bytes), minutes)
            return self._page(text)

    async def check(self, request: web.Request) -> web.Response:
        """Would a file of ``size`` bytes be taken now? (Nothing is spent: no rate token.)"""
        token = request.match_info["token"]
        grant = self.links.verify(token)
        with speak(grant.language if grant else None):
            refusal = self._link_refusal(request, grant) or await self._used(request, grant)
            if refusal is not None:
                return refusal
            assert grant is not None
            raw = request.query.get("size", "")
            try:
                check_declared_size(int(raw) if raw.isdigit() else None, max_bytes=self.max_bytes)
                users = self.payments.users
                user = await asyncio.to_thread(users.get_or_create, grant.platform, grant.user_id)
                admission = self.admission
                refused = admission.refuse_banned(user) or await admission.refuse_busy(user.platform)
                if refused is not None:
                    raise refused
            except Rejected as rejected:
                return self._refused(request, rejected, token)
            return self._answer(request, 200, "", "", ok=True)

    async def _used(self, request: web.Request, grant: UploadGrant | None) -> web.Response | None:
        if grant is None:
            return None
        state = await asyncio.to_thread(self.uses.state, grant.nonce)
        if state == USED:
            return self._notice(request, "upload_used", 410)
        if state == BUSY:
            return self._notice(request, "upload_busy", 409)
        return None

    async def upload(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        grant = self.links.verify(token)
        with speak(grant.language if grant else None):
            refusal = self._link_refusal(request, grant) or await self._used(request, grant)
            if refusal is not None:
                return refusal
            assert grant is not None
            try:
                return await self._take(request, token, grant)
            except Rejected as rejected:
                return self._refused(request, rejected, token)

    async def _take(self, request: web.Request, token: str, grant: UploadGrant) -> web.Response:
        declared = request.content_length
        if declared is not None and declared > self.max_bytes + MULTIPART_SLACK_BYTES:
            raise too_large(declared, self.max_bytes)
        users = self.payments.users
        user = await asyncio.to_thread(users.get_or_create, grant.platform, grant.user_id)
        refused = self.admission.refuse_person(user) or await self.admission.refuse_busy(user.platform)
        if refused is not None:
            raise refused
        held = await asyncio.to_thread(self.uses.claim, grant.nonce, grant.expires)
        if held is not None:
            return self._notice(request, "upload_used" if held == USED else "upload_busy", 409)
        spent = False
        try:
            name, path, workdir = await self._receive(request)
            if path is None:
                return self._answer(request, 400, *words.notice("upload_no_file"), again=token)
            received = await probe_received(path, workdir, self.queue.settings.max_duration_s, self.max_bytes)
            try:
                record = await self.admission.submit(
                    user, grant.chat_id, received.path, filename=name, language=grant.language
                )
            finally:
                received.discard()
            await asyncio.to_thread(self.uses.spend, grant.nonce, grant.expires)
            spent = True
        except (ConnectionError, asyncio.IncompleteReadError, ClientPayloadError) as err:
            log.info("an upload through link %s… was cut off: %s", grant.nonce[:6], err)
            return self._notice(request, "upload_cut_off", 400)
        finally:
            if not spent:  # refused, cut off or cancelled: the link may be used again
                await asyncio.shield(asyncio.to_thread(self.uses.release, grant.nonce))
        await asyncio.to_thread(self._announce, record)
        return self._answer(request, 200, *words.notice("upload_done"), ok=True)

    async def _receive(self, request: web.Request) -> tuple[str, Path | None, Path]:
        """Stream the form's file to a new private directory: (its name, its path — None when the
        form held no file —, the directory). Over ``max_bytes`` it stops (:class:`Rejected`);
        refused, cut off or cancelled, the directory is removed."""
        workdir = open_workdir(self.spool_dir)
        try:
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if isinstance(part, BodyPartReader) and part.name == FILE_FIELD and part.filename:
                    name = part.filename
                    path = workdir / stored_name(Path(name.replace("\\", "/")).name)
                    size = 0
                    with path.open("wb") as out:
                        while chunk := await part.read_chunk(CHUNK_BYTES):
                            size += len(chunk)
                            if size > self.max_bytes:
                                raise too_large(size, self.max_bytes)
                            out.write(chunk)
                    return name, path, workdir
                if isinstance(part, BodyPartReader):
                    await part.release()
            shutil.rmtree(workdir, ignore_errors=True)
            return "", None, workdir
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise

    def _announce(self, record: JobRecord) -> None:
        """Tell the person's bot the song is in: it carries on in the chat from here."""
        event = JobEvent(
            type=EventType.DONE,
            job_id=record.id,
            platform=record.platform,
            user_id=record.user_id,
            chat_id=record.chat_id,
            kind=UPLOAD_KIND,
            language=record.language,
        )
        publish(self.queue.connection, event, self.queue.settings.events_maxlen)
