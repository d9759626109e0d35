"""Signed, expiring download links for delivered stems.

Full-length WAV stems are far larger than a bot may upload (Telegram: 50 MB, Discord: 25 MB), so
the bot sends a link instead. The link carries an HMAC over (order, file, expiry) made with
``DOWNLOAD_SECRET``: no database row per link, nothing to guess, and a refunded order's links die
at once because the server checks the order's state on every request.

The same key signs results-page tokens (:func:`results_page_url`, served by
:mod:`web.results_page`): ``<job id>.<expiry>.<HMAC>``, one job per token, so a page can
never show another job. Its signed message starts with ``results-page`` and a NUL byte, which no
download message holds (order ids are ours and have no NUL), so neither kind of signature can be
passed off as the other.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from payments.records import Order
from payments.settings import Settings, SettingsError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Job ids are uuid hex; anything else a token names is refused before the HMAC is even computed.
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PAGE_TOKEN_RE = re.compile(r"^([A-Za-z0-9_-]{1,64})\.([0-9]{1,12})\.([0-9a-f]{64})$")
PAGE_PURPOSE = b"results-page\x00"
# Buy links (``/buy/<token>``): ``<preview job id>.<expiry>.<HMAC, first 32 hex digits>``, short
# enough for any button; a purpose of their own, so no other signature passes for one.
BUY_PURPOSE = b"buy-link\x00"
BUY_SIG_HEX = 32  # 128 bits
BUY_TOKEN_RE = re.compile(r"^([A-Za-z0-9_-]{1,64})\.([0-9]{1,12})\.([0-9a-f]{32})$")

# Where a stem of an order lives: a local file (served by us), a URL (e.g. a presigned S3 URL we
# redirect to), or None if it is gone.
StemLocator = Callable[[Order, str], Path | str | None]


class DownloadLinks:
    def __init__(self, settings: Settings) -> None:
        if not settings.download_secret:
            raise SettingsError("DOWNLOAD_SECRET is not set")
        self._key = settings.download_secret.encode()
        self.base_url = settings.public_base_url
        self.ttl_s = settings.download_ttl_s

    def _sign(self, order_id: str, name: str, expires: int) -> str:
        message = f"{order_id}/{name}/{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def url(self, order_id: str, name: str, now: float | None = None) -> str:
        """A link to one stem of a paid order, valid for ``DOWNLOAD_TTL_S``."""
        if not NAME_RE.match(name):
            raise ValueError(f"bad file name {name!r}")
        expires = int((time.time() if now is None else now) + self.ttl_s)
        sig = self._sign(order_id, name, expires)
        return f"{self.base_url}/download/{quote(order_id)}/{quote(name)}?exp={expires}&sig={sig}"

    def verify(self, order_id: str, name: str, expires: str, sig: str, now: float | None = None) -> bool:
        """True iff the link was made by us and has not expired."""
        if not NAME_RE.match(name) or not expires.isdigit():
            return False
        if int(expires) < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(self._sign(order_id, name, int(expires)), sig)

    # ------------------------------------------------------------------ results pages

    def _sign_page(self, job_id: str, expires: int) -> str:
        message = PAGE_PURPOSE + f"{job_id}\x00{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def page_token(self, job_id: str, now: float | None = None, ttl_s: int | None = None) -> str:
        """``<job id>.<expiry>.<HMAC>``: the path segment of one job's results page."""
        if not JOB_ID_RE.match(job_id):
            raise ValueError(f"bad job id {job_id!r}")
        expires = int((time.time() if now is None else now) + (self.ttl_s if ttl_s is None else ttl_s))
        return f"{job_id}.{expires}.{self._sign_page(job_id, expires)}"

    def page_url(self, job_id: str, now: float | None = None, ttl_s: int | None = None) -> str:
        return f"{self.base_url}/r/{self.page_token(job_id, now, ttl_s)}"

    def verify_page(self, token: str, now: float | None = None) -> PageGrant | None:
        """The job and expiry a token grants, or None if it is forged, malformed or expired."""
        match = PAGE_TOKEN_RE.match(token)
        if match is None:
            return None
        job_id, expires, sig = match.group(1), int(match.group(2)), match.group(3)
        if not hmac.compare_digest(self._sign_page(job_id, expires), sig):
            return None
        if expires < (time.time() if now is None else now):
            return PageGrant(job_id, expires, expired=True)
        return PageGrant(job_id, expires)

    # ------------------------------------------------------------------ buy links

    def _sign_buy(self, job_id: str, expires: int) -> str:
        message = BUY_PURPOSE + f"{job_id}\x00{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:BUY_SIG_HEX]

    def buy_url(self, job_id: str, now: float | None = None) -> str:
        """``PUBLIC_BASE_URL/buy/<token>``: opened, it orders the full stems of this preview
        for the preview's owner and redirects to Stripe Checkout (:mod:`payments.buy_links`).
        Valid ``DOWNLOAD_TTL_S``; the song's own lifetime is checked when it is opened."""
        if not JOB_ID_RE.match(job_id):
            raise ValueError(f"bad job id {job_id!r}")
        expires = int((time.time() if now is None else now) + self.ttl_s)
        return f"{self.base_url}/buy/{job_id}.{expires}.{self._sign_buy(job_id, expires)}"

    def verify_buy(self, token: str, now: float | None = None) -> str | None:
        """The preview job a buy token names, or None if it is forged, malformed or expired."""
        match = BUY_TOKEN_RE.match(token)
        if match is None:
            return None
        job_id, expires, sig = match.group(1), int(match.group(2)), match.group(3)
        if not hmac.compare_digest(self._sign_buy(job_id, expires), sig):
            return None
        if expires < (time.time() if now is None else now):
            return None
        return job_id


@dataclass(frozen=True)
class PageGrant:
    """What a genuine results-page token says. ``expired`` tokens were ours once: the page tells
    the person the link expired (a forged one is only "invalid")."""

    job_id: str
    expires: int
    expired: bool = False


def results_page_url(
    settings: Settings, job_id: str, *, ttl_s: int | None = None, now: float | None = None
) -> str:
    """The signed, expiring ``PUBLIC_BASE_URL/r/<token>`` page of one finished job.

    The page shows that job only: a preview's page offers only the preview, a full job's page
    the full stems. It lives ``ttl_s`` seconds (default ``DOWNLOAD_TTL_S``) and is served by
    ``python -m web.server`` (:mod:`web.results_page`). Raises
    :class:`~payments.settings.SettingsError` when ``DOWNLOAD_SECRET`` is unset (no page then)
    and ``ValueError`` for a malformed job id.
    """
    return DownloadLinks(settings).page_url(job_id, now=now, ttl_s=ttl_s)
