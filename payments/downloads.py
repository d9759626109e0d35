"""Signed, expiring download links for delivered stems.

Full-length WAV stems are far larger than a bot may upload (Telegram: 50 MB, Discord: 25 MB), so
the bot sends a link instead. The link carries an HMAC over (order, file, expiry) made with
``DOWNLOAD_SECRET``: no database row per link, nothing to guess, and a refunded order's links die
at once because the server checks the order's state on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from payments.records import Order
from payments.settings import Settings, SettingsError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

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

    def verify(self, order_id: str, name: str, expires: str, sig: str, now: float | None = None):
        """True iff the link was made by us and has not expired."""
        if not NAME_RE.match(name) or not expires.isdigit():
            return False
        if int(expires) < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(self._sign(order_id, name, int(expires)), sig)
