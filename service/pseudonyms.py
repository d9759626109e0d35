"""The one pseudonym under which a person's abuse limits outlive ``/forget``: a keyed HMAC.

``/forget`` deletes everything keyed by a person, yet must not lift a ban or hand out a fresh
day of free previews or karaoke renders, else both are bypassed at will. What is kept for that is
keyed by :func:`abuse_mark`, ``HMAC-SHA256(ABUSE_HMAC_SECRET, "<platform>:<platform id>")``:
the payments store's ``abuse_marks`` rows (a ban, today's previews; :mod:`people.abuse`) and
the pipeline's daily karaoke render count (``jobs.keys.karaoke_renders``). One function for
both, so the same person always has the same mark.

The key must be a secret of its own (:func:`abuse_key`), never empty and never borrowed: an
unkeyed hash of a platform id is undone by hashing every possible id (Telegram's and Discord's
ids are numbers a laptop enumerates), so it would name the forgotten person after all; and a key
derived from another secret (``DOWNLOAD_SECRET``) would be lost with it, lifting every kept ban,
when that secret is rotated to revoke leaked links. It lives in ``service``, the bottom package,
because both ``jobs`` and ``people`` need it and neither may import the other for it.
"""

from __future__ import annotations

import hashlib
import hmac

from service.envconfig import SettingsError

SECRET_NAME = "ABUSE_HMAC_SECRET"


def abuse_key(secret: str | None) -> bytes:
    """The HMAC key from ``ABUSE_HMAC_SECRET``; :class:`SettingsError` when it is unset, so no
    mark is ever made under a key anyone could guess."""
    if not secret:
        raise SettingsError(
            f"{SECRET_NAME} is not set: /forget keeps bans and today's previews and karaoke "
            "renders under a keyed HMAC of the platform id; set it to a long random string"
        )
    return secret.encode()


def abuse_mark(key: bytes, platform: str, platform_user_id: str | int) -> str:
    """The keyed HMAC a person's abuse limits are kept under (hex, 64 characters)."""
    return hmac.new(key, f"{platform}:{platform_user_id}".encode(), hashlib.sha256).hexdigest()
