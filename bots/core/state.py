"""The little a bot remembers between updates, kept in Redis so a restart forgets nothing.

* which chat message shows a job's progress (to edit it as events arrive);
* which chat messages carry a job's results (to tie a reaction to the job it rates);
* the song's title and performer as the person's app showed them (for the stems' tags);
* each person's output format and karaoke preference (identity — guide off, original key and
  tempo — until they choose one).

Nothing here is money (that is the payments store) or a job (that is the pipeline); all of it
expires with the job records, and :meth:`BotState.forget` drops a person's settings. Methods are
synchronous like the job and payments APIs; async callers wrap them in ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from bots.core.ports import MessageRef
from engine.karaoke import IDENTITY, KaraokeSettings, KaraokeSettingsError
from jobs.replies import text
from service.limits import DEFAULT_OUTPUT_FORMAT

PREFIX = "bots"
DEFAULT_FORMAT = DEFAULT_OUTPUT_FORMAT
FIELD_FORMAT = "format"
FIELD_KARAOKE = "karaoke"  # KaraokeSettings compact form


class BotState:
    def __init__(self, connection: redis.Redis, platform: str, ttl_s: float) -> None:
        self.connection = connection
        self.platform = platform
        self.ttl_s = int(ttl_s)

    def _key(self, *parts: object) -> str:
        return ":".join([PREFIX, self.platform, *map(str, parts)])

    # ------------------------------------------------------------------ job → status message

    def set_status_message(self, job_id: str, ref: MessageRef) -> None:
        self.connection.set(self._key("status", job_id), f"{ref.chat_id}:{ref.message_id}", ex=self.ttl_s)

    def status_message(self, job_id: str) -> MessageRef | None:
        raw = self.connection.get(self._key("status", job_id))
        if not raw:
            return None
        chat_id, _, message_id = text(raw).partition(":")
        return MessageRef(int(chat_id), int(message_id))

    # ------------------------------------------------------------------ result message → job

    def remember_results(self, job_id: str, refs: list[MessageRef]) -> None:
        pipe = self.connection.pipeline()
        for ref in refs:
            pipe.set(self._key("msg", ref.chat_id, ref.message_id), job_id, ex=self.ttl_s)
        pipe.execute()

    def job_for_message(self, ref: MessageRef) -> str | None:
        raw = self.connection.get(self._key("msg", ref.chat_id, ref.message_id))
        return text(raw) if raw else None

    # ------------------------------------------------------------------ events answered once

    def event_handled(self, stream_id: str) -> bool:
        """Whether a job event (by stream entry id) was already answered: for events whose
        answer has no record field to check (a karaoke preview clip)."""
        return bool(stream_id) and bool(self.connection.exists(self._key("event", stream_id)))

    def mark_event_handled(self, stream_id: str) -> None:
        if stream_id:
            self.connection.set(self._key("event", stream_id), "1", ex=self.ttl_s)

    # ------------------------------------------------------------------ song tags

    def set_tags(self, job_id: str, title: str, performer: str, received_at: float | None = None) -> None:
        """The song's tags, and (``received_at``) when its upload reached the bot (wall clock):
        the start of ``vr_upload_to_preview_seconds``, which may end in another process."""
        key = self._key("tags", job_id)
        fields: dict[str, str] = {"title": title, "performer": performer}
        if received_at is not None:
            fields["received_at"] = f"{received_at:.3f}"
        pipe = self.connection.pipeline()
        pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
        pipe.expire(key, self.ttl_s)
        pipe.execute()

    def received_at(self, job_id: str) -> float | None:
        raw = self.connection.hget(self._key("tags", job_id), "received_at")
        return float(text(raw)) if raw else None

    def tags(self, job_id: str) -> tuple[str, str] | None:
        raw = self.connection.hgetall(self._key("tags", job_id))
        if not raw:
            return None
        return text(raw[b"title"]), text(raw[b"performer"])

    # ------------------------------------------------------------------ per-person settings

    def output_format(self, user_id: str | int) -> str:
        raw = self.connection.hget(self._key("user", user_id), FIELD_FORMAT)
        return text(raw) if raw else DEFAULT_FORMAT

    def set_output_format(self, user_id: str | int, fmt: str) -> None:
        self.connection.hset(self._key("user", user_id), FIELD_FORMAT, fmt)

    def karaoke(self, user_id: str | int) -> KaraokeSettings:
        """The person's karaoke preference; identity if none (or one no longer offered)."""
        raw = self.connection.hget(self._key("user", user_id), FIELD_KARAOKE)
        if not raw:
            return IDENTITY
        try:
            return KaraokeSettings.parse(text(raw))
        except KaraokeSettingsError:
            return IDENTITY

    def set_karaoke(self, user_id: str | int, settings: KaraokeSettings) -> None:
        self.connection.hset(self._key("user", user_id), FIELD_KARAOKE, settings.to_string())

    def forget(self, user_id: str | int, job_ids: Iterable[str] = (), chat_id: int | None = None) -> None:
        """Drop a person's settings, their jobs' status messages and song tags and (with
        ``chat_id``) which of that chat's messages carried results."""
        names = [self._key("user", user_id)]
        for job_id in job_ids:
            names += [self._key("status", job_id), self._key("tags", job_id)]
        if chat_id is not None:
            names += self.connection.scan_iter(match=self._key("msg", chat_id, "*"), count=500)
        self.connection.delete(*names)
