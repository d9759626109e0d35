"""Wiring: the discord.py client, its slash commands and events, run until told to stop.

``main()`` is what ``python -m bots.discord`` runs. :func:`serve` is the one code path that
starts and stops the bot (gateway, job-event consumer, start-up work), used by ``main`` with
signal handlers and by the tests with an event they set themselves.

Where Discord is: ``DISCORD_API_BASE_URL`` becomes discord.py's REST base
(``discord.http.Route.BASE``), and the gateway URL is asked from it at start-up
(``GET /gateway/bot``; a plain client would otherwise always dial ``gateway.discord.gg``), so a
Discord stand-in on loopback serves tests and staging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

import jobs
import payments
from bots.core.flow import Flow
from bots.core.ports import Chat, Person
from bots.core.services import Services
from bots.discord.chat import PLATFORM, DiscordFrontend, InteractionChat
from bots.discord.components import ActionButton
from bots.discord.config import DiscordConfig
from bots.discord.handlers import Handlers
from jobs.events import STOP_GRACE_S as EVENTS_STOP_GRACE_S
from service.envconfig import load_or_exit
from texts import chat as messages

log = logging.getLogger(__name__)

# How often paid orders whose job could not be started are tried again (where this process owns
# payments' recovery; see Flow.owns_recovery).
RECOVERY_INTERVAL_S = 300.0
# On stop: the running deliveries' grace plus the read in progress.
STOP_GRACE_S = EVENTS_STOP_GRACE_S + 10.0


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
        self.tree.error(self._command_error)  # discord.py's way to set the tree's on_error
        _register_commands(self.tree, self.handlers)
        ActionButton.on_tap = self.handlers.tap

    async def setup_hook(self) -> None:
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
            await self.flow.on_internal_error(chat)


def _register_commands(tree: app_commands.CommandTree, handlers: Handlers) -> None:
    """/separate, the person's commands and the admins' (the core checks ``ADMIN_IDS``)."""
    flow = handlers.flow
    descriptions = dict(messages.catalogue(PLATFORM, 0).commands())

    @tree.command(name="separate", description=descriptions["separate"])
    @app_commands.describe(file=messages.SEPARATE_FILE_OPTION)
    async def separate(interaction: discord.Interaction, file: discord.Attachment) -> None:
        await handlers.separate(interaction, file)

    simple = {
        "help": flow.on_help,
        "settings": flow.on_settings,
        "history": flow.on_history,
        "status": flow.on_status,
        "cancel": flow.on_cancel,
    }
    for name, call in simple.items():
        tree.add_command(app_commands.Command(
            name=name, description=descriptions[name], callback=_simple(handlers, call)
        ))

    @tree.command(name="forget", description=descriptions["forget"])
    @app_commands.describe(confirm=messages.FORGET_CONFIRM_OPTION)
    async def forget(interaction: discord.Interaction, confirm: str | None = None) -> None:
        await handlers.forget(interaction, confirm)

    for name, what in messages.admin_commands():
        tree.add_command(app_commands.Command(
            name=name, description=what.lstrip("— ")[:100], callback=_admin(handlers, name)
        ))


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
    start-up work, the gateway, job events and — where it owns it — periodic recovery."""
    flow = bot.flow
    async with bot:
        await bot.login(bot.config.token)
        await flow.resume()
        events = asyncio.create_task(flow.run_events(stop), name="job-events")
        background = {asyncio.create_task(bot.connect(reconnect=True), name="gateway"), events}
        if flow.owns_recovery:
            background.add(
                asyncio.create_task(flow.run_recovery(stop, recovery_interval_s), name="recovery")
            )
        waiter = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({*background, waiter}, return_when=asyncio.FIRST_COMPLETED)
            for task in done & background:
                task.result()  # a loop died: raise why, don't run without it
            # Stopping: running deliveries finish before the gateway closes.
            await asyncio.wait({events}, timeout=STOP_GRACE_S)
        finally:
            await bot.close()
            for task in (*background, waiter):
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            flow.close()


async def _run(config: DiscordConfig, jobs_settings: jobs.Settings, pay_settings: payments.Settings) -> None:
    services = Services.build(PLATFORM, jobs_settings, pay_settings)
    bot = DiscordBot(config, services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(bot, stop)
    finally:
        await services.close()


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    # Every bad setting of the bot, the pipeline and payments named in one message.
    config, jobs_settings, pay_settings = load_or_exit(
        "bots.discord", [DiscordConfig, jobs.Settings, payments.Settings]
    )
    log.info("starting Discord bot against %s", config.api_base_url)
    asyncio.run(_run(config, jobs_settings, pay_settings))
