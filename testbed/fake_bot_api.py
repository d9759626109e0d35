"""A fake Telegram Bot API server on loopback, real enough for python-telegram-bot to poll.

It speaks the Bot API's HTTP shape (``/bot<token>/<method>`` answering ``{"ok": ..., "result": ...}``
and ``/file/bot<token>/<path>`` for downloads), keeps every call the bot made so tests can assert
on them, and lets a test push updates (songs, button taps, payments, reactions) as a person would.

It enforces the limits the real server has that the bot must respect: 20 MB for ``getFile``
downloads (lifted in ``local_mode``, where ``file_path`` is an absolute path on disk, as with
``telegram-bot-api --local``) and 50 MB for uploads (:attr:`FakeBotApi.upload_limit`, lowered by
tests to exercise the fallback without writing 50 MB files).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

BOT_ID = 7_000_000_001
BOT_USERNAME = "vocal_remover_test_bot"
DOWNLOAD_LIMIT = 20 * 1024 * 1024
UPLOAD_LIMIT = 50 * 1024 * 1024
RECHECK_S = 0.25
# Form fields whose values PTB JSON-encodes (everything that is not a plain string).
_JSON_FIELDS = {
    "reply_markup",
    "allowed_updates",
    "prices",
    "reply_parameters",
    "commands",
    "reaction",
    "link_preview_options",
    "entities",
    "caption_entities",
    "scope",
}
_UPLOAD_FIELDS = ("audio", "document", "photo", "voice", "video")


@dataclass
class Call:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id", self.params.get("user_id"))
        return int(value) if value is not None else None


@dataclass(frozen=True)
class User:
    """A person talking to the bot."""

    id: int
    first_name: str = "Test"
    username: str | None = None
    language_code: str = "en"

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        if self.username:
            data["username"] = self.username
        return data

    def chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name}


class FakeBotApi:
    """The server. Start with :meth:`start`, point PTB at :attr:`base_url` / :attr:`base_file_url`."""

    def __init__(self, token: str, storage_dir: Path, local_mode: bool = False) -> None:
        self.token = token
        self.storage_dir = storage_dir
        self.local_mode = local_mode
        self.upload_limit = UPLOAD_LIMIT
        self.calls: list[Call] = []
        self.allowed_updates: list[list[str] | None] = []
        self.failures: dict[str, int] = {}
        self.deleted: set[tuple[int, int]] = set()  # (chat id, message id) the user deleted
        self.blocked: set[int] = set()  # users who blocked the bot
        # The bot's Stars history as getStarTransactions returns it, oldest first ("in
        # chronological order"): each Stars successful_payment, each refundStarPayment made.
        self.star_transactions: list[dict[str, Any]] = []
        # setMyCommands' menus by language_code ("" for the default one), as Telegram keeps them.
        self.my_commands: dict[str, list[dict[str, str]]] = {}
        # Menus set for one chat (scope ``chat``), which outrank those by language_code.
        self.chat_commands: dict[int, list[dict[str, str]]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._files: dict[str, dict[str, Any]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.port = 0

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        # Release any long poll still waiting, or the server's shutdown waits for it.
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ---------------------------------------------------------------- test-side: updates

    def add_file(self, path: Path, size: int | None = None) -> dict[str, Any]:
        """Register a file a user "uploaded" to Telegram; returns its file_id/unique id/size."""
        number = next(self._file_ids)
        file_id = f"file-{number}"
        entry = {
            "file_id": file_id,
            "file_unique_id": f"uniq-{number}",
            "file_size": size if size is not None else path.stat().st_size,
            "path": path,
        }
        self._files[file_id] = entry
        return entry

    def push(self, update: dict[str, Any]) -> int:
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._notify()
        return update["update_id"]

    def _message(self, user: User, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": user.chat(),
            "from": user.as_dict(),
            **content,
        }

    def send_text(self, user: User, text: str) -> dict[str, Any]:
        """The user types ``text`` (commands included)."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        message = self._message(user, **content)
        self.push({"message": message})
        return message

    def send_media(
        self,
        user: User,
        path: Path,
        kind: str = "audio",
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        declared_size: int | None = None,
        declare_size: bool = True,
        duration: int = 5,
        title: str | None = None,
        performer: str | None = None,
    ) -> dict[str, Any]:
        """The user sends ``path`` as an audio, voice, document or video message."""
        entry = self.add_file(path, declared_size)
        media: dict[str, Any] = {
            "file_id": entry["file_id"],
            "file_unique_id": entry["file_unique_id"],
        }
        if declare_size:  # Telegram may leave file_size out
            media["file_size"] = entry["file_size"]
        if kind in ("audio", "voice", "video"):
            media["duration"] = duration
        if kind in ("audio", "document", "video"):
            media["file_name"] = file_name or path.name
        if mime_type:
            media["mime_type"] = mime_type
        if kind == "audio":
            if title:
                media["title"] = title
            if performer:
                media["performer"] = performer
        if kind == "video":
            media.update(width=640, height=360)
        message = self._message(user, **{kind: media})
        self.push({"message": message})
        return message

    def press(self, user: User, message: dict[str, Any], data: str) -> str:
        """The user taps an inline button carrying ``data`` on ``message`` (a bot message)."""
        query_id = f"cbq-{next(self._query_ids)}"
        self.push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.as_dict(),
                    "chat_instance": f"ci-{user.id}",
                    "message": message,
                    "data": data,
                }
            }
        )
        return query_id

    def pre_checkout(self, user: User, payload: str, total_amount: int, currency: str = "XTR") -> str:
        """Telegram asks the bot to confirm a checkout before charging the user."""
        query_id = f"pcq-{next(self._query_ids)}"
        self.push(
            {
                "pre_checkout_query": {
                    "id": query_id,
                    "from": user.as_dict(),
                    "currency": currency,
                    "total_amount": total_amount,
                    "invoice_payload": payload,
                }
            }
        )
        return query_id

    def successful_payment(
        self,
        user: User,
        payload: str,
        total_amount: int,
        charge_id: str,
        currency: str = "XTR",
        provider_charge_id: str = "",
    ) -> dict[str, Any]:
        """The service message Telegram sends after the user paid (Stars have no provider id;
        a card paid through a provider token has the provider's, e.g. Stripe's charge id)."""
        message = self._message(
            user,
            successful_payment={
                "currency": currency,
                "total_amount": total_amount,
                "invoice_payload": payload,
                "telegram_payment_charge_id": charge_id,
                "provider_payment_charge_id": provider_charge_id,
            },
        )
        if currency == "XTR":  # Telegram's own record of the Stars that moved
            self.star_transactions.append(
                {
                    "id": charge_id,
                    "amount": total_amount,
                    "date": message["date"],
                    "source": {
                        "type": "user",
                        "transaction_type": "invoice_payment",
                        "user": user.as_dict(),
                        "invoice_payload": payload,
                    },
                }
            )
        self.push({"message": message})
        return message

    def react(self, user: User, message_id: int, emoji: str, old: str | None = None) -> None:
        """The user sets a reaction on one of the bot's messages."""
        self.push(
            {
                "message_reaction": {
                    "chat": user.chat(),
                    "message_id": message_id,
                    "user": user.as_dict(),
                    "date": int(time.time()),
                    "old_reaction": [{"type": "emoji", "emoji": old}] if old else [],
                    "new_reaction": [{"type": "emoji", "emoji": emoji}],
                }
            }
        )

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """The user deletes one of the bot's messages: editing it fails from now on."""
        self.deleted.add((chat_id, message_id))

    def block(self, user: User) -> None:
        """The user blocks the bot: every message to them is refused with 403."""
        self.blocked.add(user.id)

    # ---------------------------------------------------------------- test-side: assertions

    def calls_to(self, chat_id: int, *methods: str) -> list[Call]:
        return [c for c in self.calls if c.chat_id == chat_id and (not methods or c.method in methods)]

    def texts_to(self, chat_id: int) -> list[str]:
        """Every text the user saw, in order: sent messages, edits, captions, callback alerts."""
        texts = []
        for call in self.calls_to(chat_id):
            if isinstance(call.result, str) and call.result.startswith("<"):
                continue  # refused or failed: never reached the user
            text = call.params.get("text") or call.params.get("caption")
            if text:
                texts.append(str(text))
        return texts

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition"
    ) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked after every request); return its value."""

        async def _wait() -> Any:
            async with self._changed:
                while True:
                    value = predicate()
                    if value:
                        return value
                    # Woken by every request; the short timeout also re-checks outside state.
                    try:
                        await asyncio.wait_for(self._changed.wait(), RECHECK_S)
                    except TimeoutError:
                        pass

        try:
            return await asyncio.wait_for(_wait(), timeout)
        except TimeoutError:
            methods = [f"{c.method}:{c.chat_id}" for c in self.calls[-30:]]
            raise AssertionError(f"timed out waiting for {what}; last calls: {methods}") from None

    async def wait_for_call(
        self,
        chat_id: int,
        method: str,
        match: Callable[[Call], bool] = lambda call: True,
        timeout: float = 30.0,
        count: int = 1,
    ) -> list[Call]:
        def found() -> list[Call]:
            hits = [c for c in self.calls_to(chat_id, method) if match(c)]
            return hits if len(hits) >= count else []

        return await self.wait_for(found, timeout, what=f"{count}x {method} to {chat_id}")

    async def wait_for_text(self, chat_id: int, needle: str, timeout: float = 30.0) -> str:
        def found() -> str | None:
            return next((t for t in self.texts_to(chat_id) if needle in t), None)

        return await self.wait_for(found, timeout, what=f"text {needle!r} to {chat_id}")

    def _notify(self) -> None:
        async def _go() -> None:
            async with self._changed:
                self._changed.notify_all()

        asyncio.get_running_loop().create_task(_go())

    # ---------------------------------------------------------------- server side

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files = await _read_params(request)
        if self.failures.get(method, 0) > 0:
            self.failures[method] -= 1
            call = Call(method, params, files, result="<failed>")
            self.calls.append(call)
            self._notify()
            return _error(500, "Internal Server Error: injected by test")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, f"Not Found: method {method} is not in the fake")
        chat = params.get("chat_id")
        if method.startswith(("send", "edit")) and chat and int(chat) in self.blocked:
            self.calls.append(Call(method, params, files, result="<error blocked>"))
            self._notify()
            return _error(403, "Forbidden: bot was blocked by the user")
        if method == "getUpdates":
            return await handler(params)
        try:
            result = handler(params, files)
        except _ApiError as err:
            self.calls.append(Call(method, params, files, result=f"<error {err.description}>"))
            self._notify()
            return _error(err.status, err.description)
        self.calls.append(Call(method, params, files, result))
        self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        wanted = request.match_info["path"]
        for entry in self._files.values():
            if entry.get("file_path") == wanted:
                return web.FileResponse(entry["path"])
        return _error(404, "Not Found")

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        self.allowed_updates.append(params.get("allowed_updates"))
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = asyncio.get_running_loop().time() + timeout
        async with self._changed:
            while not self._updates and not self._closing:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    break
        return web.json_response({"ok": True, "result": self._updates[:limit]})

    def _m_getMe(self, params: dict[str, Any], files: dict) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Vocal Remover",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _m_deleteWebhook(self, params: dict[str, Any], files: dict) -> bool:
        return True

    def _m_setMyCommands(self, params: dict[str, Any], files: dict) -> bool:
        """Telegram's rules: 1–100 commands, names 1–32 of a-z, 0-9 and _, descriptions 1–256
        characters; ``language_code`` a two-letter ISO 639-1 code, or none (the default)."""
        commands, language = params["commands"], params.get("language_code", "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _ApiError(400, "Bad Request: invalid language code specified")
        chat = self._scope_chat(params)
        if not 1 <= len(commands) <= 100:
            raise _ApiError(400, "Bad Request: too many commands")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command["command"]):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        if chat is not None:
            self.chat_commands[chat] = commands
        else:
            self.my_commands[language] = commands
        return True

    def _m_deleteMyCommands(self, params: dict[str, Any], files: dict) -> bool:
        chat = self._scope_chat(params)
        if chat is not None:
            self.chat_commands.pop(chat, None)
        else:
            self.my_commands.pop(params.get("language_code", ""), None)
        return True

    @staticmethod
    def _scope_chat(params: dict[str, Any]) -> int | None:
        """The chat of a ``chat`` scope; None for the default scope. Other scopes are not faked."""
        scope = params.get("scope") or {"type": "default"}
        if scope["type"] == "default":
            return None
        if scope["type"] != "chat":
            raise _ApiError(400, f"Bad Request: the fake has no {scope['type']} scope")
        return int(scope["chat_id"])

    def _m_setMyDescription(self, params: dict[str, Any], files: dict) -> bool:
        return True

    def _m_getFile(self, params: dict[str, Any], files: dict) -> dict[str, Any]:
        entry = self._files.get(str(params.get("file_id")))
        if entry is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        if not self.local_mode and entry["file_size"] > DOWNLOAD_LIMIT:
            raise _ApiError(400, "Bad Request: file is too big")
        if self.local_mode:
            file_path = str(Path(entry["path"]).resolve())
        else:
            file_path = f"music/{entry['file_unique_id']}{Path(entry['path']).suffix}"
        entry["file_path"] = file_path
        return {
            "file_id": entry["file_id"],
            "file_unique_id": entry["file_unique_id"],
            "file_size": entry["file_size"],
            "file_path": file_path,
        }

    def _sent(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Vocal Remover"},
            **content,
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return message

    def _m_sendMessage(self, params: dict[str, Any], files: dict) -> dict[str, Any]:
        text = str(params.get("text") or "")
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._sent(params, text=text)

    def _m_editMessageText(self, params: dict[str, Any], files: dict) -> dict[str, Any]:
        previous = self._find_message(int(params["chat_id"]), int(params["message_id"]))
        if previous is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if previous.get("text") == params.get("text") and "reply_markup" not in params:
            raise _ApiError(400, "Bad Request: message is not modified")
        edited = {**previous, "text": params.get("text"), "edit_date": int(time.time())}
        if "reply_markup" in params:
            edited["reply_markup"] = params["reply_markup"]
        else:
            edited.pop("reply_markup", None)
        return edited

    def _m_editMessageReplyMarkup(self, params: dict[str, Any], files: dict) -> dict[str, Any]:
        previous = self._find_message(int(params["chat_id"]), int(params["message_id"]))
        if previous is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return {**previous, "reply_markup": params.get("reply_markup")}

    def _m_deleteMessage(self, params: dict[str, Any], files: dict) -> bool:
        return True

    def _m_sendChatAction(self, params: dict[str, Any], files: dict) -> bool:
        return True

    def _upload(self, method: str, field_name: str, params: dict, files: dict) -> dict[str, Any]:
        if field_name not in files:
            raise _ApiError(400, f"Bad Request: there is no {field_name} in the request")
        name, data = files[field_name]
        if len(data) > self.upload_limit:
            raise _ApiError(413, "Request Entity Too Large")
        number = next(self._file_ids)
        media: dict[str, Any] = {
            "file_id": f"sent-{number}",
            "file_unique_id": f"sent-uniq-{number}",
            "file_size": len(data),
        }
        if field_name == "photo":
            media.update(width=1200, height=900)
            content: dict[str, Any] = {"photo": [media]}
        else:
            media["file_name"] = name
            if field_name == "audio":
                media["duration"] = int(params.get("duration") or 0)
                for key in ("title", "performer"):
                    if key in params:
                        media[key] = params[key]
            content = {field_name: media}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._sent(params, **content)

    def _m_sendAudio(self, params: dict[str, Any], files: dict) -> dict[str, Any]:
        return self._upload("sendAudio", "audio", params, files)

    def _m_sendDocument(self, params: dict[str, Any], files: dict) -> dict[str, Any]:
        return self._upload("sendDocument", "document", params, files)

    def _m_sendPhoto(self, params: dict[str, Any], files: dict) -> dict[str, Any]:
        return self._upload("sendPhoto", "photo", params, files)

    def _m_sendInvoice(self, params: dict[str, Any], files: dict) -> dict[str, Any]:
        prices = params.get("prices") or []
        if params.get("currency") == "XTR" and (params.get("provider_token") or len(prices) != 1):
            raise _ApiError(400, "Bad Request: Stars invoices need one price and no provider")
        if params.get("currency") != "XTR" and not params.get("provider_token"):
            raise _ApiError(400, "Bad Request: PAYMENT_PROVIDER_INVALID")
        total = sum(int(p["amount"]) for p in prices)
        return self._sent(
            params,
            invoice={
                "title": params.get("title"),
                "description": params.get("description"),
                "start_parameter": params.get("start_parameter", ""),
                "currency": params.get("currency"),
                "total_amount": total,
            },
        )

    def _m_answerPreCheckoutQuery(self, params: dict[str, Any], files: dict) -> bool:
        ok = str(params.get("ok")).lower() == "true"
        if not ok and not params.get("error_message"):
            raise _ApiError(400, "Bad Request: error_message is required when ok is false")
        return True

    def _m_answerCallbackQuery(self, params: dict[str, Any], files: dict) -> bool:
        return True

    def _m_refundStarPayment(self, params: dict[str, Any], files: dict) -> bool:
        if not params.get("telegram_payment_charge_id"):
            raise _ApiError(400, "Bad Request: CHARGE_ID_EMPTY")
        already = [
            c
            for c in self.calls
            if c.method == "refundStarPayment"
            and c.params.get("telegram_payment_charge_id") == params["telegram_payment_charge_id"]
            and c.result is True
        ]
        if already:
            raise _ApiError(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
        paid = next(
            (
                t
                for t in self.star_transactions
                if t["id"] == params["telegram_payment_charge_id"] and "source" in t
            ),
            None,
        )
        if paid is not None:  # a refund has the id of the payment it returns
            self.star_transactions.append(
                {
                    "id": paid["id"],
                    "amount": paid["amount"],
                    "date": int(time.time()),
                    "receiver": {
                        "type": "user",
                        "transaction_type": "invoice_payment",
                        "user": paid["source"]["user"],
                    },
                }
            )
        return True

    def _m_getStarTransactions(self, params: dict[str, Any], files: dict) -> dict[str, Any]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        if not 1 <= limit <= 100:
            raise _ApiError(400, "Bad Request: limit must be between 1 and 100")
        return {"transactions": self.star_transactions[offset : offset + limit]}

    def _m_setMessageReaction(self, params: dict[str, Any], files: dict) -> bool:
        return True

    def _find_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        if (chat_id, message_id) in self.deleted:
            return None
        for call in reversed(self.calls):
            result = call.result
            if (
                isinstance(result, dict)
                and result.get("message_id") == message_id
                and result.get("chat", {}).get("id") == chat_id
            ):
                return result
        return None


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": status, "description": description}, status=status)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """Decode form / multipart / JSON bodies the way the Bot API does."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, tuple[str, bytes]] = {}
    if request.content_type == "application/json":
        body = await request.json()
        params.update(body or {})
        return params, files
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if part.filename is not None or part.name in _UPLOAD_FIELDS:
                data = await part.read(decode=False)
                files[str(part.name)] = (part.filename or str(part.name), bytes(data))
            else:
                params[str(part.name)] = await part.text()
    elif request.can_read_body:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in list(params):
        if key in _JSON_FIELDS and isinstance(params[key], str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                pass
    return params, files
