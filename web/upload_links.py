"""One-time, signed, expiring upload links: a file too big for the chat goes in through a page.

A link names one person on one platform, the chat where they asked for it (where the song then
continues, as if sent there), the language they are answered in, when it expires, and a random
nonce: ``PUBLIC_BASE_URL/u/<platform>.<user id>.<chat id>.<language>.<expiry>.<nonce>.<HMAC>``.
The HMAC (``DOWNLOAD_SECRET``, its message starting with ``upload-link`` and a NUL byte, which
no other signed message of ours holds) makes it unforgeable; no database row exists per link.
That a link takes one successful upload is the web server's to hold, by its nonce
(:class:`web.uploads.LinkUses`): it may be retried until a song got in, within its expiry.

The bots ask for links at most :data:`UPLOAD_LINK_BURST` in a row and one a minute after
(:attr:`UploadLinks.rate`, per person, in memory as every rate limit of ours).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from payments.settings import Settings, SettingsError
from people import RateLimiter

UPLOAD_PURPOSE = b"upload-link\x00"
UPLOAD_SIG_HEX = 32  # 128 bits
NONCE_HEX = 16
TOKEN_RE = re.compile(
    r"^([a-z0-9_-]{1,16})\.([0-9]{1,32})\.(-?[0-9]{1,40})\.([A-Za-z_]{0,8})\.([0-9]{1,12})"
    r"\.([0-9a-f]{16})\.([0-9a-f]{32})$"
)
# Links a person may ask for in a row, then one a minute.
UPLOAD_LINK_BURST = 3
UPLOAD_LINKS_PER_MINUTE = 1


@dataclass(frozen=True)
class UploadGrant:
    """What a genuine upload link says; an ``expired`` one was ours once (the page says it
    expired, a forged one is only "invalid")."""

    platform: str
    user_id: str
    chat_id: str
    language: str
    expires: int
    nonce: str
    expired: bool = False


class UploadLinks:
    """Makes and checks upload links; valid ``UPLOAD_LINK_TTL_S``."""

    def __init__(self, settings: Settings) -> None:
        if not settings.download_secret:
            raise SettingsError("DOWNLOAD_SECRET is not set")
        self._key = settings.download_secret.encode()
        self.base_url = settings.public_base_url
        self.ttl_s = settings.upload_link_ttl_s
        self.rate = RateLimiter(UPLOAD_LINKS_PER_MINUTE, burst=UPLOAD_LINK_BURST)

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, UPLOAD_PURPOSE + body.encode(), hashlib.sha256).hexdigest()[
            :UPLOAD_SIG_HEX
        ]

    def token(
        self,
        platform: str,
        user_id: str | int,
        chat_id: str | int,
        language: str,
        now: float | None = None,
    ) -> str:
        expires = int((time.time() if now is None else now) + self.ttl_s)
        body = f"{platform}.{user_id}.{chat_id}.{language}.{expires}.{secrets.token_hex(NONCE_HEX // 2)}"
        if TOKEN_RE.match(f"{body}.{'0' * UPLOAD_SIG_HEX}") is None:
            raise ValueError(f"cannot make an upload link for {platform!r} {user_id!r} {chat_id!r}")
        return f"{body}.{self._sign(body)}"

    def url(
        self,
        platform: str,
        user_id: str | int,
        chat_id: str | int,
        language: str,
        now: float | None = None,
    ) -> str:
        """``PUBLIC_BASE_URL/u/<token>``: the page where ``user_id`` sends one song, which then
        continues in ``chat_id``."""
        return f"{self.base_url}/u/{self.token(platform, user_id, chat_id, language, now)}"

    def verify(self, token: str, now: float | None = None) -> UploadGrant | None:
        """What a token grants, or None if it is forged or malformed (an expired one: its grant
        with ``expired``)."""
        match = TOKEN_RE.match(token)
        if match is None:
            return None
        body, sig = token.rsplit(".", 1)
        if not hmac.compare_digest(self._sign(body), sig):
            return None
        platform, user_id, chat_id, language, expires, nonce, _sig = match.groups()
        expired = int(expires) < (time.time() if now is None else now)
        return UploadGrant(platform, user_id, chat_id, language, int(expires), nonce, expired)
