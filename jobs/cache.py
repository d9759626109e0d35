"""Same-song cache: a song separated once is answered from its stored results afterwards.

The key is the decoded-audio hash (``engine.audio.content_hash``: the same song in another
container or under another name hashes the same), the model version (a retrained model must not
serve old stems), the kind (preview length included) and the output format. The value is the id
of the finished job whose results answer it. Entries live as long as the results do (the
retention period); a lookup also checks the files still exist.
"""

from __future__ import annotations

import redis

from jobs import keys, replies
from jobs.records import JobKind, JobRecord
from jobs.settings import Settings


def cache_key(settings: Settings, kind: JobKind, fmt: str, song_hash: str, version: str) -> str:
    tag = f"preview{int(settings.preview_length_s)}" if kind is JobKind.PREVIEW else "full"
    return keys.cache(version, tag, fmt, song_hash)


def remember(connection: redis.Redis, settings: Settings, record: JobRecord) -> None:
    """Point the cache at a finished job's results."""
    key = cache_key(
        settings, record.kind, record.output_format, record.content_hash, record.model_version
    )
    connection.set(key, record.id, ex=max(1, int(settings.retention_s)))


def lookup(
    connection: redis.Redis, settings: Settings, kind: JobKind, fmt: str, song_hash: str,
    version: str,
) -> str | None:
    """The id of a finished job with this song's results, if one is remembered."""
    raw = connection.get(cache_key(settings, kind, fmt, song_hash, version))
    return replies.text(raw) if raw else None
