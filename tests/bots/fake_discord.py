"""A fake Discord on loopback, real enough for discord.py to log in, connect and be used.

REST (the paths discord.py calls under ``Route.BASE``): ``/users/@me``,
``/oauth2/applications/@me``, ``/gateway/bot`` (which names this server's websocket), command
sync, DM channel creation, channel messages (JSON or multipart with files), interaction
callbacks and their webhook follow-ups (``wait=true``, editing and deleting ``@original``),
attachment downloads. The gateway (``/gateway``, JSON text frames): HELLO, heartbeats
acknowledged, IDENTIFY → READY (the bot user, one unavailable guild, the application) then
GUILD_CREATE; everything a test does as a person is dispatched from there: MESSAGE_CREATE,
INTERACTION_CREATE (slash commands with a resolved attachment, button taps),
MESSAGE_REACTION_ADD/REMOVE.

It keeps the rules the bot must live with: a file over the channel's upload limit is refused
with Discord's 413 (40005); a DM to someone whose DMs are closed (:attr:`FakeDiscord.closed_dms`)
with 403 (50007); an ephemeral message can't be edited through the channel (10008); the
first follow-up after a deferred "thinking…" answer replaces it, inheriting its ephemerality;
every interaction payload carries ``attachment_size_limit``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

BOT_ID = 800_000_000_000_000_001
APPLICATION_ID = 800_000_000_000_000_002
GUILD_ID = 800_000_000_000_000_010
CHANNEL_ID = 800_000_000_000_000_011  # the guild's text channel
DEFAULT_LIMIT = 10 * 1024 * 1024  # Discord's per-file limit without boosts
EPHEMERAL = 1 << 6
HEARTBEAT_INTERVAL_MS = 41_250
RECHECK_S = 0.25

# Gateway opcodes.
DISPATCH, HEARTBEAT, IDENTIFY, HELLO, HEARTBEAT_ACK = 0, 1, 2, 10, 11


def _json(data: Any, status: int = 200) -> web.Response:
    """discord.py parses a body as JSON only when the content type is exactly this."""
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Person:
    id: int
    name: str = "tester"
    locale: str = "en-US"  # the language of their Discord app (an interaction's ``locale``)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.name,
            "avatar": None,
        }

    @property
    def dm_channel(self) -> int:
        return self.id + 1


# Discord's rules for application commands: names 1–32 characters, lowercase where the script
# has case, no spaces; descriptions 1–100; localisations keyed by Discord's own locales.
COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
DISCORD_LOCALES = {
    "id",
    "da",
    "de",
    "en-GB",
    "en-US",
    "es-ES",
    "es-419",
    "fr",
    "hr",
    "it",
    "lt",
    "hu",
    "nl",
    "no",
    "pl",
    "pt-BR",
    "ro",
    "fi",
    "sv-SE",
    "vi",
    "tr",
    "cs",
    "el",
    "bg",
    "ru",
    "uk",
    "hi",
    "th",
    "zh-CN",
    "ja",
    "zh-TW",
    "ko",
}


def _command_refusal(commands: list[dict[str, Any]]) -> str | None:
    """Why Discord would refuse these commands (its 50035 Invalid Form Body), or None."""
    for command in commands:
        for item in [command, *command.get("options", [])]:
            names = {"": item["name"], **(item.get("name_localizations") or {})}
            descriptions = {"": item["description"], **(item.get("description_localizations") or {})}
            for locale in {*names, *descriptions} - {""}:
                if locale not in DISCORD_LOCALES:
                    return f"{item['name']}: unknown locale {locale!r}"
            for locale, name in names.items():
                if not COMMAND_NAME.match(name) or name != name.lower():
                    return f"{item['name']}: bad name {name!r} ({locale or 'default'})"
            for locale, description in descriptions.items():
                if not 1 <= len(description) <= 100:
                    return f"{item['name']}: description of {len(description)} ({locale or 'default'})"
    return None


@dataclass
class Message:
    """A message in a channel, as the fake stores it."""

    id: int
    channel_id: int
    author_id: int
    content: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    components: list[dict[str, Any]] = field(default_factory=list)
    ephemeral: bool = False
    for_user: int | None = None  # an interaction's answer: who it answered
    loading: bool = False  # a deferred answer still "thinking…"
    deleted: bool = False
    edits: int = 0
    interaction_token: str | None = None  # set on an interaction's answers

    @property
    def custom_ids(self) -> list[str]:
        buttons = [c for row in self.components for c in row.get("components", [])]
        return [c["custom_id"] for c in buttons if "custom_id" in c]

    @property
    def urls(self) -> list[str]:
        return [c["url"] for row in self.components for c in row.get("components", []) if "url" in c]

    def button(self, prefix: str) -> str:
        for custom_id in self.custom_ids:
            if custom_id.startswith(prefix):
                return custom_id
        raise AssertionError(f"no button {prefix!r} in {self.components}")

    def as_dict(self, bot: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": bot,
            "content": self.content,
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [
                {
                    "id": str(self.id * 10 + i),
                    "filename": name,
                    "size": len(body),
                    "url": f"https://cdn.invalid/{name}",
                    "proxy_url": f"https://cdn.invalid/{name}",
                }
                for i, (name, body) in enumerate(self.files.items())
            ],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "components": self.components,
            "flags": EPHEMERAL if self.ephemeral else 0,
        }
        if self.channel_id == CHANNEL_ID:
            data["guild_id"] = str(GUILD_ID)
        return data


@dataclass
class Interaction:
    id: int
    token: str
    user: Person
    channel_id: int
    original: Message | None = None
    answered: bool = False


class FakeDiscord:
    """The server. ``await start()``, point the bot at :attr:`api_base_url`."""

    def __init__(self, token: str, storage_dir: Path) -> None:
        self.token = token
        self.storage_dir = storage_dir
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self.upload_limit = DEFAULT_LIMIT  # per file, in every channel
        self.messages: dict[int, Message] = {}
        self.calls: list[tuple[str, str]] = []  # (method, path) of every REST request
        # (method, path, JSON payload) of every REST request with a body (messages, edits,
        # interaction answers): what the bot asked Discord to post, ``allowed_mentions`` included.
        self.payloads: list[tuple[str, str, dict[str, Any]]] = []
        self.identified: list[dict[str, Any]] = []  # IDENTIFY payloads (intents, token)
        self.commands: dict[str, dict[str, Any]] = {}
        self.guild_locale = "en-US"  # the server's community language (``preferred_locale``)
        self.interactions: dict[str, Interaction] = {}  # by token
        self.refused_uploads = 0
        # People whose DMs refuse the bot (privacy settings): a message to their DM channel is
        # answered 403, 50007 "Cannot send messages to this user", as Discord does.
        self.closed_dms: set[int] = set()
        self.dms_opened: list[int] = []  # recipients of POST /users/@me/channels, in order
        self._ids = itertools.count(900_000_000_000_000_000)
        self._seq = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._attachments: dict[str, Path] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/api/v10"

    async def start(self) -> None:
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{key}/{name}", self._attachment)
        app.router.add_route("*", "/api/v10/{path:.+}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def connected(self) -> bool:
        return bool(self._sockets)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0, what: str = "it") -> Any:
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out waiting for {what}")
                try:
                    await asyncio.wait_for(self._changed.wait(), min(remaining, RECHECK_S))
                except TimeoutError:
                    pass

    # ---------------------------------------------------------------- what a test reads

    def bot_user(self) -> dict[str, Any]:
        return {**Person(BOT_ID, "vocal-remover").as_dict(), "bot": True}

    def in_channel(self, channel_id: int, seen_by: int | None = None) -> list[Message]:
        """The bot's messages in a channel (ephemeral ones only for whom they answered)."""
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id
            and m.author_id == BOT_ID
            and not m.deleted
            and (not m.ephemeral or seen_by is None or m.for_user == seen_by)
        ]

    async def wait_for_text(
        self, channel_id: int, fragment: str, timeout: float = 60.0, seen_by: int | None = None
    ) -> Message:
        return await self.wait_for(
            lambda: next(
                (m for m in self.in_channel(channel_id, seen_by) if fragment in m.content and not m.loading),
                None,
            ),
            timeout,
            f"{fragment!r} in channel {channel_id}",
        )

    async def wait_for_files(self, channel_id: int, count: int, timeout: float = 90.0) -> list[Message]:
        def found() -> list[Message] | None:
            with_files = [m for m in self.in_channel(channel_id) if m.files]
            return with_files if len(with_files) >= count else None

        return await self.wait_for(found, timeout, f"{count} file messages in {channel_id}")

    # ---------------------------------------------------------------- what a person does

    def _attach(self, path: Path, name: str | None = None) -> dict[str, Any]:
        key = str(next(self._ids))
        self._attachments[key] = path
        filename = name or path.name
        return {
            "id": key,
            "filename": filename,
            "size": path.stat().st_size,
            "url": f"{self.base_url}/attachments/{key}/{filename}",
            "proxy_url": f"{self.base_url}/attachments/{key}/{filename}",
            "content_type": "application/octet-stream",
        }

    async def send(
        self,
        user: Person,
        path: Path | None = None,
        *,
        text: str = "",
        in_guild: bool = False,
        mention: bool = True,
    ) -> int:
        """A person posts a message: in their DM with the bot, or in the guild channel
        (mentioning the bot unless ``mention=False``). Returns the message id."""
        message_id = next(self._ids)
        data: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(CHANNEL_ID if in_guild else user.dm_channel),
            "author": user.as_dict(),
            "content": text,
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [self.bot_user()] if in_guild and mention else [],
            "mention_roles": [],
            "attachments": [self._attach(path)] if path else [],
            "embeds": [],
            "pinned": False,
            "type": 0,
        }
        if in_guild:
            data["guild_id"] = str(GUILD_ID)
            data["member"] = {"roles": [], "joined_at": _now(), "deaf": False, "mute": False}
        await self._dispatch("MESSAGE_CREATE", data)
        return message_id

    def _interaction(self, user: Person, in_guild: bool, kind: int, data: dict[str, Any]) -> dict[str, Any]:
        interaction_id = next(self._ids)
        token = f"itoken-{interaction_id}"
        channel_id = CHANNEL_ID if in_guild else user.dm_channel
        self.interactions[token] = Interaction(interaction_id, token, user, channel_id)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(APPLICATION_ID),
            "type": kind,
            "data": data,
            "channel_id": str(channel_id),
            "channel": {"id": str(channel_id), "type": 0 if in_guild else 1},
            "token": token,
            "version": 1,
            "app_permissions": "2248473465835073",
            "locale": user.locale,
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)} if in_guild else {"1": str(user.id)},
            "context": 0 if in_guild else 1,
            "attachment_size_limit": self.upload_limit,
        }
        if in_guild:
            payload["guild_id"] = str(GUILD_ID)
            payload["guild_locale"] = self.guild_locale
            payload["member"] = {
                "user": user.as_dict(),
                "roles": [],
                "joined_at": _now(),
                "deaf": False,
                "mute": False,
                "permissions": "2248473465835073",
                "flags": 0,
            }
        else:
            payload["user"] = user.as_dict()
        return payload

    async def slash(
        self,
        user: Person,
        name: str,
        *,
        in_guild: bool = False,
        file: Path | None = None,
        **options: str,
    ) -> Interaction:
        """A person runs a slash command (``file``: the attachment option)."""
        command = self.commands.get(name)
        assert command is not None, f"/{name} was never registered; have {sorted(self.commands)}"
        opts: list[dict[str, Any]] = [{"name": k, "type": 3, "value": v} for k, v in options.items()]
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": opts}
        if file is not None:
            attachment = self._attach(file)
            opts.append({"name": "file", "type": 11, "value": attachment["id"]})
            data["resolved"] = {"attachments": {attachment["id"]: attachment}}
        payload = self._interaction(user, in_guild, 2, data)
        await self._dispatch("INTERACTION_CREATE", payload)
        return self.interactions[payload["token"]]

    async def press(self, user: Person, message: Message, custom_id: str) -> Interaction:
        """A person taps a button on one of the bot's messages."""
        payload = self._interaction(
            user, message.channel_id == CHANNEL_ID, 3, {"custom_id": custom_id, "component_type": 2}
        )
        payload["message"] = message.as_dict(self.bot_user())
        await self._dispatch("INTERACTION_CREATE", payload)
        return self.interactions[payload["token"]]

    async def react(self, user: Person, message: Message, emoji: str, added: bool = True) -> None:
        data: dict[str, Any] = {
            "user_id": str(user.id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        if message.channel_id == CHANNEL_ID:
            data["guild_id"] = str(GUILD_ID)
        await self._dispatch("MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE", data)

    def plant(self, channel_id: int, *custom_ids: str) -> Message:
        """A message from the bot carrying buttons it would not send today (an old version's,
        or a crafted one): Discord only reports taps on buttons a message really has."""
        row = {
            "type": 1,
            "components": [{"type": 2, "style": 2, "label": "old", "custom_id": c} for c in custom_ids],
        }
        return self._store(channel_id, {"content": "an old message", "components": [row]}, {})

    def answers(self, interaction: Interaction) -> list[Message]:
        """What the bot said in answer to one interaction (its original answer and follow-ups)."""
        return [
            m
            for m in self.messages.values()
            if m.interaction_token == interaction.token and not m.deleted and not m.loading
        ]

    async def answer_text(
        self, interaction: Interaction, fragment: str = "", timeout: float = 30.0
    ) -> Message:
        return await self.wait_for(
            lambda: next((m for m in self.answers(interaction) if fragment in m.content), None),
            timeout,
            f"an answer containing {fragment!r}",
        )

    # ---------------------------------------------------------------- gateway

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        await self.wait_for(lambda: self._sockets, 20, "the bot's gateway connection")
        frame = json.dumps({"op": DISPATCH, "t": event, "s": next(self._seq), "d": data})
        await self._sockets[-1].send_str(frame)

    def _guild(self) -> dict[str, Any]:
        everyone = {
            "id": str(GUILD_ID),
            "name": "@everyone",
            "permissions": "1071698660929",
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        return {
            "id": str(GUILD_ID),
            "name": "Test server",
            "icon": None,
            "owner_id": "1",
            "roles": [everyone],
            "emojis": [],
            "stickers": [],
            "features": [],
            "premium_tier": 0,
            "channels": [
                {
                    "id": str(CHANNEL_ID),
                    "type": 0,
                    "name": "music",
                    "position": 0,
                    "permission_overwrites": [],
                    "guild_id": str(GUILD_ID),
                }
            ],
            "members": [],
            "member_count": 3,
            "threads": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "unavailable": False,
            "joined_at": _now(),
            "mfa_level": 0,
            "verification_level": 0,
            "explicit_content_filter": 0,
            "default_message_notifications": 0,
            "system_channel_flags": 0,
            "preferred_locale": self.guild_locale,
            "nsfw_level": 0,
        }

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}))
        try:
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    break
                msg = json.loads(frame.data)
                if msg["op"] == HEARTBEAT:
                    await ws.send_str(json.dumps({"op": HEARTBEAT_ACK}))
                elif msg["op"] == IDENTIFY:
                    self.identified.append(msg["d"])
                    ready = {
                        "v": 10,
                        "user": self.bot_user(),
                        "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
                        "session_id": "fake-session",
                        "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
                        "application": {"id": str(APPLICATION_ID), "flags": 0},
                        "shard": [0, 1],
                        "private_channels": [],
                        "relationships": [],
                    }
                    for event, data in (("READY", ready), ("GUILD_CREATE", self._guild())):
                        frame = {"op": DISPATCH, "t": event, "s": next(self._seq), "d": data}
                        await ws.send_str(json.dumps(frame))
                    self._sockets.append(ws)
                    await self._notify()
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        path = self._attachments.get(request.match_info["key"])
        if path is None:
            return web.Response(status=404)
        return web.FileResponse(path)

    # ---------------------------------------------------------------- REST

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return _json({"code": code, "message": message}, status=status)

    async def _body(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        """JSON, or discord.py's multipart: ``payload_json`` plus ``files[n]`` (recorded in
        :attr:`payloads`)."""
        payload: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            payload = json.loads(str(form.get("payload_json", "{}")))
            files = {
                value.filename: value.file.read()
                for key, value in form.items()
                if key.startswith("files[") and hasattr(value, "file")
            }
        elif request.can_read_body:
            payload = await request.json()
        if payload:
            self.payloads.append((request.method, request.path, payload))
        return payload, files

    def _too_big(self, files: dict[str, bytes]) -> bool:
        return any(len(body) > self.upload_limit for body in files.values())

    def _store(self, channel_id: int, payload: dict[str, Any], files: dict[str, bytes], **kw: Any) -> Message:
        message = Message(
            id=next(self._ids),
            channel_id=channel_id,
            author_id=BOT_ID,
            content=payload.get("content") or "",
            files=files,
            components=payload.get("components") or [],
            **kw,
        )
        self.messages[message.id] = message
        return message

    def _edit(self, message: Message, payload: dict[str, Any], files: dict[str, bytes]) -> None:
        if "content" in payload:
            message.content = payload["content"] or ""
        if "components" in payload:
            message.components = payload["components"] or []
        if files:
            message.files = files
        message.loading = False
        message.edits += 1

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") not in (f"Bot {self.token}", None):
            return self._error(401, 0, "401: Unauthorized")
        path = "/" + request.match_info["path"]
        self.calls.append((request.method, path))
        try:
            return await self._route(request, path.strip("/").split("/"))
        finally:
            await self._notify()

    async def _route(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        method = request.method
        bot = self.bot_user()
        if parts == ["users", "@me"]:
            return _json(bot)
        if parts == ["oauth2", "applications", "@me"]:
            return _json(
                {
                    "id": str(APPLICATION_ID),
                    "name": "Vocal Remover",
                    "icon": None,
                    "description": "",
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": Person(1, "owner").as_dict(),
                    "verify_key": "0" * 64,
                    "flags": 0,
                    "team": None,
                    "summary": "",
                    "rpc_origins": [],
                }
            )
        if parts == ["gateway", "bot"]:
            return _json(
                {
                    "url": f"ws://127.0.0.1:{self.port}/gateway",
                    "shards": 1,
                    "session_start_limit": {
                        "total": 1000,
                        "remaining": 999,
                        "reset_after": 0,
                        "max_concurrency": 1,
                    },
                }
            )
        if parts[0] == "applications" and parts[-1] == "commands" and method == "PUT":
            registered = []
            commands = await request.json()
            refusal = _command_refusal(commands)
            if refusal:
                return self._error(400, 50035, f"Invalid Form Body: {refusal}")
            for command in commands:
                entry = {
                    **command,
                    "id": str(next(self._ids)),
                    "application_id": str(APPLICATION_ID),
                    "version": "1",
                    "default_member_permissions": None,
                    "type": command.get("type", 1),
                }
                self.commands[command["name"]] = entry
                registered.append(entry)
            return _json(registered)
        if parts[0] == "channels" and parts[2:3] == ["messages"]:
            channel_id = int(parts[1])
            payload, files = await self._body(request)
            if method == "POST" and len(parts) == 3:
                if channel_id in {Person(u).dm_channel for u in self.closed_dms}:
                    return self._error(403, 50007, "Cannot send messages to this user")
                if self._too_big(files):
                    self.refused_uploads += 1
                    return self._error(413, 40005, "Request entity too large")
                return _json(self._store(channel_id, payload, files).as_dict(bot))
            message = self.messages.get(int(parts[3]))
            if message is None or message.deleted or message.ephemeral or message.channel_id != channel_id:
                return self._error(404, 10008, "Unknown Message")
            if method == "PATCH":
                self._edit(message, payload, files)
                return _json(message.as_dict(bot))
        if parts[0] == "interactions" and parts[-1] == "callback":
            return await self._callback(request, parts[2])
        if parts[0] == "webhooks" and len(parts) >= 3:
            return await self._webhook(request, parts[2], parts[3:])
        if parts[:2] == ["users", "@me"] and parts[2:] == ["channels"]:
            recipient = int((await request.json())["recipient_id"])
            self.dms_opened.append(recipient)
            return _json({"id": str(recipient + 1), "type": 1, "recipients": [Person(recipient).as_dict()]})
        return self._error(404, 0, f"fake Discord has no {method} /{'/'.join(parts)}")

    async def _callback(self, request: web.Request, token: str) -> web.Response:
        interaction = self.interactions.get(token)
        if interaction is None:
            return self._error(404, 10062, "Unknown interaction")
        if interaction.answered:
            return self._error(400, 40060, "Interaction has already been acknowledged.")
        payload, files = await self._body(request)
        interaction.answered = True
        kind, data = payload["type"], payload.get("data") or {}
        ephemeral = bool((data.get("flags") or 0) & EPHEMERAL)
        message = self._store(
            interaction.channel_id,
            data,
            files,
            ephemeral=ephemeral,
            for_user=interaction.user.id,
            loading=kind == 5,
        )
        message.interaction_token = token
        interaction.original = message
        return _json(
            {
                "interaction": {
                    "id": str(interaction.id),
                    "type": 2,
                    "response_message_id": str(message.id),
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": ephemeral,
                },
                "resource": {"type": kind, "message": message.as_dict(self.bot_user())},
            }
        )

    async def _webhook(self, request: web.Request, token: str, rest: list[str]) -> web.Response:
        interaction = self.interactions.get(token)
        if interaction is None:
            return self._error(404, 10015, "Unknown Webhook")
        payload, files = await self._body(request)
        bot = self.bot_user()
        if request.method == "POST" and not rest:
            if self._too_big(files):
                self.refused_uploads += 1
                return self._error(413, 40005, "Request entity too large")
            original = interaction.original
            if original is not None and original.loading:  # the first follow-up after a defer
                self._edit(original, payload, files)
                return _json(original.as_dict(bot))
            ephemeral = bool((payload.get("flags") or 0) & EPHEMERAL)
            message = self._store(
                interaction.channel_id, payload, files, ephemeral=ephemeral, for_user=interaction.user.id
            )
            message.interaction_token = token
            return _json(message.as_dict(bot))
        if rest[:1] == ["messages"] and len(rest) == 2:
            target = interaction.original if rest[1] == "@original" else self.messages.get(int(rest[1]))
            if target is None or target.deleted:
                return self._error(404, 10008, "Unknown Message")
            if request.method == "DELETE":
                target.deleted = True
                return web.Response(status=204)
            if request.method == "PATCH":
                self._edit(target, payload, files)
                return _json(target.as_dict(bot))
            return _json(target.as_dict(bot))
        return self._error(404, 0, "fake Discord: unknown webhook call")
