"""Wiring: the discord.py client, its slash commands and events, run until told to stop.

:data:`DISCORD` is Discord's part of the shared start-up (:mod:`bots.run`), which
``python -m bots.discord`` runs. :func:`serve` is the one code path that starts and stops the
bot (gateway, job-event consumer, start-up work), used by the start-up with signal handlers and
by the tests with an event they set themselves.

Where Discord is: ``DISCORD_API_BASE_URL`` becomes discord.py's REST base
(``discord.http.Route.BASE``), and the gateway URL is asked from it at start-up
(``GET /gateway/bot``; a plain client would otherwise always dial ``gateway.discord.gg``), so a
Discord stand-in on loopback serves tests and staging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from bots.core.flow import Flow
from bots.core.ports import Chat, Person
from bots.core.services import Services
from bots.discord.chat import PLATFORM, DiscordFrontend, InteractionChat
from bots.discord.components import ActionButton
from bots.discord.config import DiscordConfig
from bots.discord.handlers import Handlers, interacting
from bots.discord.translator import CatalogueTranslator, localised
from bots.run import RECOVERY_INTERVAL_S, BotPlatform, cancel_all, run_until_stopped
from texts import chat as messages
from texts.languages import ENGLISH, speak

log = logging.getLogger(__name__)


def intents() -> discord.Intents:
    """Only what the bot uses. No privileged intent: Discord gives a bot the content and
    attachments of DMs and of messages that mention it without Message Content."""
    wanted = discord.Intents.none()
    wanted.guilds = True  # the servers' upload limits (boost level), channels
    wanted.guild_messages = True  # a server message that mentions the bot with a song
    wanted.dm_messages = True  # songs sent in a DM
    wanted.guild_reactions = True  # ratings on result messages
    wanted.dm_reactions = True
    return wanted


class DiscordBot(discord.Client):
    """The client, with its command tree, the frontend and the handlers."""

    def __init__(self, config: DiscordConfig, services: Services) -> None:
        discord.http.Route.BASE = config.api_base_url
        # No message of ours may ping anyone: texts repeat file names and titles people chose
        # (``@everyone.mp3``, ``<@&role>.mp3``). Set on the client, it goes with every send and
        # edit (channel messages and interaction follow-ups alike).
        super().__init__(
            intents=intents(),
            max_messages=None,
            chunk_guilds_at_startup=False,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.config = config
        self.frontend = DiscordFrontend(self, config)
        self.flow = Flow(self.frontend, services, config.spool_dir)
        self.handlers = Handlers(self.flow, self.frontend)
        self.tree = app_commands.CommandTree(self)
        self.translator = CatalogueTranslator()
        self.tree.error(self._command_error)  # discord.py's way to set the tree's on_error
        _register_commands(self.tree, self.handlers)
        ActionButton.on_tap = self.handlers.tap

    async def setup_hook(self) -> None:
        await self.tree.set_translator(self.translator)  # before the sync that sends the texts
        _, url, _ = await self.http.get_bot_gateway()
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        self.add_dynamic_items(ActionButton)
        if self.config.guild_ids:
            for guild_id in self.config.guild_ids:
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        await self.handlers.on_message(message)

    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        await self.handlers.on_reaction(event)

    async def on_raw_reaction_remove(self, event: discord.RawReactionActionEvent) -> None:
        await self.handlers.on_reaction(event)

    async def _command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        log.error("slash command failed", exc_info=error)
        with contextlib.suppress(discord.HTTPException):
            chat = InteractionChat(self.frontend, interaction)
            await chat.begin()
            await self.flow.on_internal_error(chat, interacting(interaction))


def _register_commands(tree: app_commands.CommandTree, handlers: Handlers) -> None:
    """/separate, the person's commands and the admins' (the core checks ``ADMIN_IDS``), each
    name and description a :func:`localised` text (:mod:`bots.discord.translator`)."""
    flow = handlers.flow
    with speak(ENGLISH):
        descriptions = dict(messages.catalogue(PLATFORM, 0).commands())

    def name(command: str) -> app_commands.locale_str:
        return localised(command, lambda: messages.command_names()[command])

    def described(command: str) -> app_commands.locale_str:
        return localised(descriptions[command], lambda: dict(_commands())[command])

    def fixed(text: str) -> app_commands.locale_str:
        return localised(getattr(messages, text), lambda: getattr(messages, text))

    @tree.command(name=name("separate"), description=described("separate"))
    @app_commands.describe(file=fixed("SEPARATE_FILE_OPTION"))
    async def separate(interaction: discord.Interaction, file: discord.Attachment) -> None:
        await handlers.separate(interaction, file)

    simple = {
        "help": flow.on_help,
        "settings": flow.on_settings,
        "history": flow.on_history,
        "status": flow.on_status,
        "cancel": flow.on_cancel,
        "upload": flow.on_upload_command,
    }
    for command, call in simple.items():
        tree.add_command(
            app_commands.Command(
                name=name(command), description=described(command), callback=_simple(handlers, call)
            )
        )

    @tree.command(name=name("forget"), description=described("forget"))
    @app_commands.describe(confirm=fixed("FORGET_CONFIRM_OPTION"))
    async def forget(interaction: discord.Interaction, confirm: str | None = None) -> None:
        await handlers.forget(interaction, confirm)

    @tree.command(name=name("language"), description=described("language"))
    @app_commands.describe(language=fixed("LANGUAGE_OPTION"))
    @app_commands.choices(
        language=[
            app_commands.Choice(name=language.native, value=language.code)
            for language in messages.languages()
        ]
    )
    async def language(interaction: discord.Interaction, language: str | None = None) -> None:
        await handlers.language(interaction, language)

    with speak(ENGLISH):
        admin = messages.admin_commands()
    for command, what in admin:
        tree.add_command(
            app_commands.Command(
                name=command,
                description=localised(what.lstrip("— ")[:100], _admin_words(command)),
                callback=_admin(handlers, command),
            )
        )


def _admin_words(command: str) -> Callable[[], str]:
    """An admin command's description, worded in the language in effect when Discord asks."""
    return lambda: dict(_admin_commands())[command]


def _commands() -> tuple[tuple[str, str], ...]:
    return messages.catalogue(PLATFORM, 0).commands()


def _admin_commands() -> tuple[tuple[str, str], ...]:
    return tuple((name, what.lstrip("— ")[:100]) for name, what in messages.admin_commands())


CommandCallback = Callable[..., Coroutine[Any, Any, None]]  # discord.py takes coroutine functions


def _simple(handlers: Handlers, call: Callable[[Chat, Person], Awaitable[None]]) -> CommandCallback:
    """A command with no options (discord.py reads the options from this signature)."""

    async def command(interaction: discord.Interaction) -> None:
        await handlers.interaction(interaction, call)

    return command


def _admin(handlers: Handlers, name: str) -> CommandCallback:
    """An admin command: its arguments as one optional text option, as on Telegram."""

    async def command(interaction: discord.Interaction, args: str | None = None) -> None:
        await handlers.admin(interaction, name, args)

    return command


async def serve(
    bot: DiscordBot, stop: asyncio.Event, recovery_interval_s: float = RECOVERY_INTERVAL_S
) -> None:
    """Run the bot until ``stop`` is set: log in (gateway URL, dynamic buttons, commands),
    start-up work, the gateway, job events, the waiting previews' wait told as the line moves,
    and — where it owns it — periodic recovery."""
    flow = bot.flow
    async with bot:
        await bot.login(bot.config.token)
        await flow.resume()
        events = asyncio.create_task(flow.run_events(stop), name="job-events")
        background = {
            asyncio.create_task(bot.connect(reconnect=True), name="gateway"),
            events,
            asyncio.create_task(flow.run_wait_updates(stop), name="wait-updates"),
        }
        if flow.owns_recovery:
            background.add(asyncio.create_task(flow.run_recovery(stop, recovery_interval_s), name="recovery"))
        try:
            # Stopping: running deliveries finish before the gateway closes.
            await run_until_stopped(background, stop, drain={events})
        finally:
            await bot.close()
            await cancel_all(background, suppress=(Exception,))
            flow.close()


DISCORD = BotPlatform(
    module="bots.discord",
    title="Discord",
    platform=PLATFORM,
    config=DiscordConfig,
    build=DiscordBot,
    serve=serve,
    log=log,
)
