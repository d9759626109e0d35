"""Discord events and interactions: translate each into one call on the platform-neutral flow.

Each handler picks the fields out of the event, builds the core's plain values
(:class:`Person`, :class:`Upload`, :class:`Reaction`) and calls :class:`bots.core.Flow`; nothing
here decides what to say. A failure in a handler is logged and the person told "something went
wrong on my side" — the bot never goes silent and never goes down for one bad event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import discord

from bots.core.flow import Flow
from bots.core.ports import Chat, MessageRef, Person, Reaction, Upload
from bots.discord.chat import PLATFORM, DiscordFrontend, InteractionChat
from texts import chat as messages

log = logging.getLogger(__name__)


def person(user: discord.abc.User | discord.Object, locale: str | None = None) -> Person:
    return Person(platform=PLATFORM, user_id=user.id, locale=locale)


def interacting(interaction: discord.Interaction) -> Person:
    """Who is using a command or a button, with the language of their own Discord app."""
    return person(interaction.user, interaction.locale.value)


def author(message: discord.Message) -> Person:
    """Who sent a message: in a server channel, the server's language (``guild_locale``: a
    message carries none of its author's); in a DM, none known."""
    locale = message.guild.preferred_locale.value if message.guild is not None else None
    return person(message.author, locale)


def upload_of(attachment: discord.Attachment) -> Upload:
    """The core's view of an attachment; Discord declares its size, so a too-big file is
    refused before downloading."""

    async def fetch(dest: Path) -> Path:
        await attachment.save(dest)
        return dest

    return Upload(file_name=attachment.filename, size=attachment.size, fetch=fetch)


class Handlers:
    """The flow and the frontend, plus one method per kind of event."""

    def __init__(self, flow: Flow, frontend: DiscordFrontend) -> None:
        self.flow = flow
        self.frontend = frontend

    @property
    def me(self) -> discord.ClientUser | None:
        return self.frontend.client.user

    async def _guarded(self, chat: Chat, work: Awaitable[None], who: Person | None = None) -> None:
        try:
            await work
        except Exception:
            log.exception("handling a Discord event failed")
            try:
                await self.flow.on_internal_error(chat, who)
            except Exception:  # Discord itself may be what failed
                log.exception("could not tell the user about the failure")

    # ------------------------------------------------------------------ messages

    async def on_message(self, message: discord.Message) -> None:
        """A DM, or a server message that mentions the bot: its first attachment is the song."""
        if message.author.bot or self.me is None:
            return
        in_dm = message.guild is None
        if not in_dm and self.me not in message.mentions:
            return
        chat = self.frontend.chat(message.channel.id)
        who = author(message)
        if message.attachments:
            work = self.flow.on_upload(chat, who, upload_of(message.attachments[0]))
        else:
            work = self.flow.on_unsupported(chat, who)
        await self._guarded(chat, work, who)

    # ------------------------------------------------------------------ reactions

    async def on_reaction(self, event: discord.RawReactionActionEvent) -> None:
        """Discord reports each emoji added or removed on its own: one core event each."""
        if self.me is not None and event.user_id == self.me.id:
            return
        reaction = Reaction(
            MessageRef(chat_id=event.channel_id, message_id=event.message_id),
            str(event.emoji),
            added=event.event_type == "REACTION_ADD",
        )
        try:
            await self.flow.on_reaction(Person(PLATFORM, event.user_id), reaction)
        except Exception:  # nothing to answer a reaction with; the rating is simply not stored
            log.exception("storing a reaction failed")

    # ------------------------------------------------------------------ interactions

    async def interaction(
        self,
        interaction: discord.Interaction,
        call: Callable[[InteractionChat, Person], Awaitable[None]],
        chat: InteractionChat | None = None,
    ) -> None:
        """Defer at once, then run ``call`` with a chat that answers this interaction."""
        chat = chat or InteractionChat(self.frontend, interaction)
        try:
            await chat.begin()
        except discord.HTTPException:
            log.warning("could not acknowledge an interaction in time", exc_info=True)
            return
        who = interacting(interaction)
        await self._guarded(chat, call(chat, who), who)

    async def separate(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        async def call(chat: InteractionChat, who: Person) -> None:
            await self.flow.on_upload(chat, who, upload_of(file))

        # In a server channel only the person sees their song's progress and preview.
        await self.interaction(interaction, call, InteractionChat.private(self.frontend, interaction))

    async def tap(self, interaction: discord.Interaction, action: str, arg: str) -> None:
        """A button under a preview or stems; the flow checks the job is the tapper's."""

        async def call(chat: InteractionChat, who: Person) -> None:
            message = interaction.message
            ref = MessageRef(chat.chat_id, message.id if message is not None else 0)
            notice = await self.flow.on_button(chat, who, action, arg, ref)
            if notice:
                await chat.send_text(notice)
            elif not chat.replied:
                await interaction.delete_original_response()

        await self.interaction(interaction, call)

    async def forget(self, interaction: discord.Interaction, confirm: str | None) -> None:
        confirmed = messages.confirms_forget(confirm or "")

        async def call(chat: InteractionChat, who: Person) -> None:
            await self.flow.on_forget(chat, who, confirmed)

        await self.interaction(interaction, call)

    async def language(self, interaction: discord.Interaction, choice: str | None) -> None:
        async def call(chat: InteractionChat, who: Person) -> None:
            await self.flow.on_language(chat, who, choice)

        await self.interaction(interaction, call)

    async def admin(self, interaction: discord.Interaction, command: str, args: str | None) -> None:
        async def call(chat: InteractionChat, who: Person) -> None:
            await self.flow.on_admin(chat, who, command, (args or "").split())

        await self.interaction(interaction, call)
