"""The core's :class:`~bots.core.ports.Chat` and :class:`~bots.core.ports.Frontend` on Discord.

Two kinds of chat:

* :class:`ChannelChat` — a channel (a DM, or the server channel where someone asked), reached by
  id through discord.py's REST client: job events (progress, preview, stems) use it, long after
  the message or command that started them;
* :class:`InteractionChat` — the answer to one slash command or button tap: the interaction is
  deferred at once (Discord wants an answer within 3 s) and every message is a follow-up,
  ephemeral where the channel is public, so only the person who asked sees it.

A song sent with ``/separate`` in a server channel is answered privately too: its chat id is a
*private route* (:func:`private_chat_id`) naming the channel and the interaction, so its job
events — progress and the preview, which ends with the waveform image — go to the interaction's
ephemeral follow-ups. The route closes with that image, or when Discord stops taking follow-ups
(:data:`INTERACTION_TTL_S`), or at a restart (it lives in memory only).

What is a person's own never goes to a server channel for everyone
(:meth:`DiscordFrontend.chat_for`): everything of a private route once its interaction is gone,
and — for a song sent in a channel by mention too — the paid stems and their download links
(which work for whoever holds them), karaoke clips and refund notices go to the person's DMs
(:class:`DirectChat`; paid stems must outlast an ephemeral message anyway). Where their DMs are
closed (Discord's 403, 50007), the channel gets a short note for them that names no song and
carries no link (:data:`texts.chat.DMS_CLOSED`, at most once per
:data:`DMS_CLOSED_NOTE_QUIET_S`) — only a button, "Show it here only to me"
(:func:`bots.core.keyboards.show_page`), whose answer is ephemeral: the job's results page to
its owner, a refusal to anyone else — and the send fails with :class:`DirectMessagesClosed`, so the
job event is tried again (``jobs.events``: a claim period apart) and reaches them once they open
their DMs; a paid result that never can is refunded like any undeliverable one.

No message can ping anyone: the client sends everything with ``AllowedMentions.none()``
(``bots.discord.app``); only the closed-DMs note names, and so notifies, the person it is for.

A chat's upload limit comes from Discord, never a constant: the interaction's
``attachment_size_limit`` (remembered per channel, since a later job event has no interaction),
else the server's ``filesize_limit``, else Discord's default for DMs; ``DISCORD_UPLOAD_LIMIT_BYTES``
can only lower it. Discord has no in-chat invoices, so the frontend does not implement
:class:`~bots.core.ports.InChatPayments`: it sells by Stripe Checkout link only.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict, Unpack

import discord

from bots.core import keyboards
from bots.core.ports import Chat, Keyboard, MessageGone, MessageRef, Person, UploadTooLarge
from bots.discord import components
from bots.discord.config import DEFAULT_UPLOAD_LIMIT, DiscordConfig
from texts import chat as messages

log = logging.getLogger(__name__)

PLATFORM = "discord"
MAX_CONTENT_CHARS = 2000
# Discord's answer to a file over the channel's limit.
PAYLOAD_TOO_LARGE = 413
# Channels whose upload limit was last reported by an interaction (bounded: oldest dropped).
MAX_REMEMBERED_LIMITS = 10_000
# Discord takes follow-ups to an interaction for 15 minutes; we stop a minute early.
INTERACTION_TTL_S = 14 * 60
MAX_PRIVATE_ROUTES = 10_000
# A private route's chat id: the interaction id above the channel id (snowflakes fit in 64 bits).
ROUTE_SHIFT = 64
CHANNEL_MASK = (1 << ROUTE_SHIFT) - 1
# Discord's "Cannot send messages to this user": the person's DMs are closed to the bot.
CANNOT_DM = 50007
# A failed DM is tried again with its job event (a minute apart, a few times): the channel hears
# about one person's closed DMs at most once in this long.
DMS_CLOSED_NOTE_QUIET_S = 3600.0
MAX_REMEMBERED_NOTES = 10_000


class DirectMessagesClosed(Exception):
    """The person's DMs refuse the bot: what was for them alone was not sent (and not posted
    anywhere else); the job event is tried again later."""


def is_private_route(chat_id: int) -> bool:
    return chat_id >> ROUTE_SHIFT != 0


def private_chat_id(channel_id: int, interaction_id: int) -> int:
    return (interaction_id << ROUTE_SHIFT) | channel_id


def channel_of(chat_id: int) -> int:
    """The Discord channel a chat id names (itself, or a private route's channel)."""
    return chat_id & CHANNEL_MASK


def _content(text: str | None) -> str | None:
    return text[:MAX_CONTENT_CHARS] if text else None


@contextlib.contextmanager
def _too_large_as_core_error() -> Iterator[None]:
    """Discord refusing a file for its size becomes the core's :class:`UploadTooLarge`."""
    try:
        yield
    except discord.HTTPException as err:
        if err.status == PAYLOAD_TOO_LARGE:
            raise UploadTooLarge(str(err)) from err
        raise


def _audio_content(title: str, performer: str, caption: str | None) -> str:
    # Discord shows no audio tags: the message says what the file is.
    return _content(f"{title} — {performer}" + (f"\n{caption}" if caption else "")) or title


class DiscordFrontend:
    """Discord's limits, and a way back to any channel from a job event."""

    platform = PLATFORM
    # Bots may fetch any attachment; only our own MAX_FILE_BYTES applies.
    download_limit: int | None = None

    def __init__(self, client: discord.Client, config: DiscordConfig) -> None:
        self.client = client
        self.config = config
        self._limits: dict[int, int] = {}
        self._private: dict[int, tuple[discord.Interaction, float]] = {}
        self._noted: dict[tuple[int, int], float] = {}  # (person, channel) → when told of DMs

    def chat(self, chat_id: int) -> ChannelChat | InteractionChat:
        """A private route's interaction while Discord still takes its follow-ups, else the
        channel (job events use :meth:`chat_for`, which knows whose they are)."""
        return self._live_route(chat_id) or ChannelChat(self, channel_of(chat_id))

    def chat_for(self, chat_id: int, person: Person, personal: bool, job_id: str | None = None) -> Chat:
        """Where a job event of ``person``'s goes (:class:`~bots.core.ports.PersonalChats`): a
        private route's interaction while it lives; then — and for anything ``personal`` asked
        for in a server channel — the person's DMs; else the chat itself. A DM asked in a DM
        stays there (:class:`DirectChat` finds the same channel). ``job_id``, the event's job, is
        what a closed-DMs note's button shows its owner (:meth:`note_dms_closed`)."""
        live = self._live_route(chat_id)
        if live is not None:
            return live
        if is_private_route(chat_id) or personal:
            return DirectChat(self, person.user_id, origin=channel_of(chat_id), job_id=job_id)
        return ChannelChat(self, chat_id)

    def personal_chat_id(self, chat: Chat) -> int:
        """A DM stays itself; anywhere else, a private route that is never opened (no live
        interaction answers it), so every event of the job goes to the person's DMs, with the
        channel as the origin a closed-DMs note goes to."""
        if isinstance(chat, InteractionChat):
            if chat.interaction.guild_id is None:
                return chat.chat_id
            return private_chat_id(channel_of(chat.chat_id), chat.interaction.id)
        if isinstance(chat, DirectChat):
            return chat.chat_id
        return private_chat_id(channel_of(chat.chat_id), 1)

    def _live_route(self, chat_id: int) -> InteractionChat | None:
        route = self._private.get(chat_id)
        if route is not None and route[1] > time.monotonic():
            return InteractionChat(self, route[0], chat_id=chat_id)
        self._private.pop(chat_id, None)
        return None

    async def note_dms_closed(self, user_id: int, channel_id: int, job_id: str | None = None) -> None:
        """Tell the person, in the channel where they asked, that their DMs are closed: a note
        that names no song and links nothing (everyone there reads it), at most once per
        :data:`DMS_CLOSED_NOTE_QUIET_S`; the one message that mentions someone — them. With
        ``job_id`` it carries one button (:func:`keyboards.show_page`): tapped by the job's
        owner, an ephemeral answer with its results page; by anyone else, a refusal."""
        now = time.monotonic()
        key = (user_id, channel_id)
        if now - self._noted.get(key, -DMS_CLOSED_NOTE_QUIET_S) < DMS_CLOSED_NOTE_QUIET_S:
            return
        if len(self._noted) >= MAX_REMEMBERED_NOTES:
            self._noted.pop(next(iter(self._noted)))
        self._noted[key] = now
        channel = self.client.get_partial_messageable(channel_id)
        extras = _extras(view=components.view(keyboards.show_page(job_id)) if job_id else None)
        try:
            await channel.send(
                content=f"<@{user_id}> {messages.DMS_CLOSED}",
                allowed_mentions=discord.AllowedMentions(users=[discord.Object(user_id)]),
                **extras,
            )
        except discord.HTTPException:  # the channel refuses us too: nowhere left to say it
            log.warning(
                "could not tell user %s in channel %s that their DMs are closed",
                user_id,
                channel_id,
                exc_info=True,
            )

    def open_private(self, chat_id: int, interaction: discord.Interaction) -> None:
        now = time.monotonic()
        for stale in [k for k, (_, until) in self._private.items() if until <= now]:
            del self._private[stale]
        if len(self._private) >= MAX_PRIVATE_ROUTES:
            self._private.pop(next(iter(self._private)))
        self._private[chat_id] = (interaction, now + INTERACTION_TTL_S)

    def close_private(self, chat_id: int) -> None:
        self._private.pop(chat_id, None)

    def remember_limit(self, channel_id: int, limit: int) -> None:
        """What an interaction said a channel takes (it knows the server's boosts)."""
        if len(self._limits) >= MAX_REMEMBERED_LIMITS:
            self._limits.pop(next(iter(self._limits)))
        self._limits[channel_id] = limit

    def upload_limit(self, channel_id: int, reported: int | None = None) -> int:
        limit = reported or self._limits.get(channel_id)
        if limit is None:
            channel = self.client.get_channel(channel_id)
            guild = getattr(channel, "guild", None)
            limit = guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT
        cap = self.config.upload_limit_cap
        return min(limit, cap) if cap else limit


class _Extras(TypedDict, total=False):
    """What a message carries beside its words; a key is left out, not None (discord.py's
    annotations take no None)."""

    file: discord.File
    view: discord.ui.View


def _extras(file: discord.File | None = None, view: discord.ui.View | None = None) -> _Extras:
    extras: _Extras = {}
    if file is not None:
        extras["file"] = file
    if view is not None:
        extras["view"] = view
    return extras


class _FileSends:
    """Audio, files and images go out the same way on every route: through the route's own ``_send``."""

    async def _send(self, content: str | None, **extras: Unpack[_Extras]) -> MessageRef:
        raise NotImplementedError

    async def send_audio(
        self, path: Path, *, title: str, performer: str, caption: str | None = None
    ) -> MessageRef:
        return await self._send(
            _audio_content(title, performer, caption), file=discord.File(path, filename=path.name)
        )

    async def send_file(self, path: Path, *, caption: str | None = None) -> MessageRef:
        return await self._send(_content(caption), file=discord.File(path, filename=path.name))

    async def send_image(self, path: Path, *, caption: str, buttons: Keyboard | None = None) -> MessageRef:
        extras = _extras(file=discord.File(path, filename=path.name), view=components.view(buttons))
        return await self._send(_content(caption), **extras)


class ChannelChat(_FileSends):
    """A channel by id: works for DMs and server channels, cached or not."""

    def __init__(self, frontend: DiscordFrontend, channel_id: int) -> None:
        self._frontend = frontend
        self._channel = frontend.client.get_partial_messageable(channel_id)

    @property
    def chat_id(self) -> int:
        return self._channel.id

    async def upload_limit(self) -> int:
        return self._frontend.upload_limit(self.chat_id)

    async def _send(self, content: str | None, **extras: Unpack[_Extras]) -> MessageRef:
        with _too_large_as_core_error():
            message = await self._channel.send(content=content, **extras)
        return MessageRef(chat_id=self.chat_id, message_id=message.id)

    async def send_text(self, text: str, buttons: Keyboard | None = None) -> MessageRef:
        return await self._send(_content(text), **_extras(view=components.view(buttons)))

    async def edit_text(self, ref: MessageRef, text: str, buttons: Keyboard | None = None) -> None:
        channel = self._frontend.client.get_partial_messageable(channel_of(ref.chat_id))
        message = channel.get_partial_message(ref.message_id)
        try:  # a private route's ephemeral message can't be edited here: it is gone for us
            await message.edit(content=_content(text), view=components.view(buttons))
        except discord.NotFound as err:  # the person (or a moderator) deleted it
            raise MessageGone(str(err)) from err


class DirectChat(_FileSends):
    """The person's DMs, for what is theirs alone; ``origin`` is the channel where they asked
    (told when their DMs are closed, with a button for ``job_id``'s results page, see
    :meth:`DiscordFrontend.note_dms_closed`). The DM
    channel is opened on first use (discord.py keeps it for the next)."""

    def __init__(
        self, frontend: DiscordFrontend, user_id: int, origin: int, job_id: str | None = None
    ) -> None:
        self._frontend = frontend
        self._user_id = user_id
        self._origin = origin
        self._job_id = job_id
        self._dm: discord.DMChannel | None = None

    @property
    def chat_id(self) -> int:
        return self._dm.id if self._dm is not None else self._origin

    async def _channel(self) -> discord.DMChannel:
        if self._dm is None:
            self._dm = await self._frontend.client.create_dm(discord.Object(self._user_id))
        return self._dm

    async def upload_limit(self) -> int:
        return self._frontend.upload_limit((await self._channel()).id)

    async def _send(self, content: str | None, **extras: Unpack[_Extras]) -> MessageRef:
        dm = await self._channel()
        try:
            with _too_large_as_core_error():
                message = await dm.send(content=content, **extras)
        except discord.Forbidden as err:
            if err.code != CANNOT_DM:
                raise
            if self._origin and self._origin != dm.id:
                await self._frontend.note_dms_closed(self._user_id, self._origin, self._job_id)
            raise DirectMessagesClosed(f"user {self._user_id} does not take DMs") from err
        return MessageRef(chat_id=dm.id, message_id=message.id)

    async def send_text(self, text: str, buttons: Keyboard | None = None) -> MessageRef:
        return await self._send(_content(text), **_extras(view=components.view(buttons)))

    async def edit_text(self, ref: MessageRef, text: str, buttons: Keyboard | None = None) -> None:
        """Only the DM's own messages: a status message in the channel (public, or an
        ephemeral one long gone) is left as it is and the text sent here instead."""
        dm = await self._channel()
        if ref.chat_id != dm.id:
            raise MessageGone(f"message {ref.message_id} is not in the DM")
        try:
            await dm.get_partial_message(ref.message_id).edit(
                content=_content(text), view=components.view(buttons)
            )
        except discord.NotFound as err:
            raise MessageGone(str(err)) from err


class InteractionChat(_FileSends):
    """The replies to one interaction, as follow-ups (ephemeral in a server channel).

    :meth:`begin` defers within Discord's 3 s; :attr:`replied` says whether anything was sent,
    so a tap that needed no message can be closed quietly. ``chat_id`` names a private route
    (:func:`private_chat_id`) when the interaction's later messages should find it again.
    """

    def __init__(
        self,
        frontend: DiscordFrontend,
        interaction: discord.Interaction,
        chat_id: int | None = None,
    ) -> None:
        self._frontend = frontend
        self.interaction = interaction
        self.ephemeral = interaction.guild_id is not None
        self.replied = False
        channel_id = interaction.channel_id or 0
        self._chat_id = channel_id if chat_id is None else chat_id
        self._limit = frontend.upload_limit(channel_id, interaction.filesize_limit)
        frontend.remember_limit(channel_id, interaction.filesize_limit)

    @classmethod
    def private(cls, frontend: DiscordFrontend, interaction: discord.Interaction) -> InteractionChat:
        """The chat of a song asked for by slash command: in a server channel, a private route
        (job events find this interaction again); in a DM, the DM itself."""
        channel_id = interaction.channel_id or 0
        if interaction.guild_id is None:
            return cls(frontend, interaction)
        chat_id = private_chat_id(channel_id, interaction.id)
        frontend.open_private(chat_id, interaction)
        return cls(frontend, interaction, chat_id=chat_id)

    async def begin(self) -> None:
        """Acknowledge the interaction now (Discord shows "thinking…" until the first reply)."""
        if not self.interaction.response.is_done():
            await self.interaction.response.defer(ephemeral=self.ephemeral, thinking=True)

    @property
    def chat_id(self) -> int:
        return self._chat_id

    async def upload_limit(self) -> int:
        return self._limit

    async def _send(self, content: str | None, **extras: Unpack[_Extras]) -> MessageRef:
        with _too_large_as_core_error():
            message = await self.interaction.followup.send(
                content=content or discord.utils.MISSING,
                ephemeral=self.ephemeral,
                wait=True,
                **extras,
            )
        self.replied = True
        return MessageRef(chat_id=self.chat_id, message_id=message.id)

    async def send_text(self, text: str, buttons: Keyboard | None = None) -> MessageRef:
        return await self._send(_content(text), **_extras(view=components.view(buttons)))

    async def edit_text(self, ref: MessageRef, text: str, buttons: Keyboard | None = None) -> None:
        try:
            await self.interaction.followup.edit_message(
                ref.message_id, content=_content(text), view=components.view(buttons)
            )
        except discord.NotFound as err:
            raise MessageGone(str(err)) from err

    async def send_image(self, path: Path, *, caption: str, buttons: Keyboard | None = None) -> MessageRef:
        """The preview's last message (the waveform with its buttons): a private route ends
        here, so what comes later goes to the person's DMs (an ephemeral message would not
        outlast their next reload)."""
        ref = await super().send_image(path, caption=caption, buttons=buttons)
        self._frontend.close_private(self.chat_id)
        return ref
