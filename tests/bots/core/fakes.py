"""A fake chat platform for the core: :class:`FakeFrontend` (no in-chat invoices, like Discord)
and :class:`FakeInvoiceFrontend` (with them, like Telegram), whose chats record what the bot
said. No platform library, no network: the core's own code runs against them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from bots.core.ports import Invoice, Keyboard, MessageGone, MessageRef, Person

DEFAULT_LIMIT = 10_000_000


@dataclass
class Sent:
    kind: str  # text | audio | file | image | invoice
    text: str
    buttons: Keyboard | None = None
    path: Path | None = None
    invoice: Invoice | None = None


@dataclass
class FakeChat:
    chat_id: int
    limit: int = DEFAULT_LIMIT
    sent: dict[int, Sent] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _put(self, item: Sent) -> MessageRef:
        message_id = next(self._ids)
        self.sent[message_id] = item
        return MessageRef(self.chat_id, message_id)

    @property
    def texts(self) -> list[str]:
        return [s.text for s in self.sent.values()]

    async def upload_limit(self) -> int:
        return self.limit

    async def send_text(self, text: str, buttons: Keyboard | None = None) -> MessageRef:
        return self._put(Sent("text", text, buttons))

    async def edit_text(self, ref: MessageRef, text: str, buttons: Keyboard | None = None) -> None:
        if ref.message_id not in self.sent:
            raise MessageGone(str(ref))
        self.sent[ref.message_id] = Sent("text", text, buttons)

    async def send_audio(
        self, path: Path, *, title: str, performer: str, caption: str | None = None
    ) -> MessageRef:
        return self._put(Sent("audio", title, path=path))

    async def send_file(self, path: Path, *, caption: str | None = None) -> MessageRef:
        return self._put(Sent("file", caption or "", path=path))

    async def send_image(self, path: Path, *, caption: str, buttons: Keyboard | None = None) -> MessageRef:
        return self._put(Sent("image", caption, buttons, path=path))


@dataclass
class FakeInvoiceChat(FakeChat):
    async def send_invoice(self, invoice: Invoice) -> MessageRef:
        return self._put(Sent("invoice", invoice.title, invoice=invoice))


class FakeFrontend:
    """A platform that sells by card link only."""

    platform = "fakechat"
    download_limit: int | None = None

    def __init__(self) -> None:
        self.chats: dict[int, FakeChat] = {}

    def chat(self, chat_id: int) -> FakeChat:
        return self.chats.setdefault(chat_id, FakeChat(chat_id))


class FakeInvoiceFrontend(FakeFrontend):
    """A platform with its own in-chat payments (the optional protocol)."""

    platform = "fakepay"
    pre_checkout_deadline_s = 10.0

    def __init__(self) -> None:
        super().__init__()
        self.refunds: list[tuple[Person, str]] = []

    def chat(self, chat_id: int) -> FakeInvoiceChat:
        return self.chats.setdefault(chat_id, FakeInvoiceChat(chat_id))  # type: ignore[return-value]

    async def refund(self, person: Person, charge_id: str) -> None:
        self.refunds.append((person, charge_id))
