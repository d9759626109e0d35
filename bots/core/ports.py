"""What the platform-neutral flow needs from a chat platform, and the plain values it passes.

The core never imports telegram or discord. A frontend implements :class:`Chat` (send, edit,
upload, its upload limit) for one conversation and :class:`Frontend` (its limits and how to reach a
chat again from a job event), and turns its platform's incoming files into :class:`Upload`. Buttons
are described as :class:`Button` values (an action name plus an argument, or a URL) that each
frontend renders its own way — inline keyboards on Telegram, components on Discord.

In-chat invoices are an optional capability with a protocol of its own,
:class:`InChatPayments` (Telegram Stars); a frontend without it never reaches payment code that
needs it — :func:`in_chat_payments` raises :class:`NotImplementedError` rather than anyone
implementing a stub. Reactions arrive as :class:`Reaction` events, one per emoji added or removed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Button:
    """A tappable button: ``action``/``arg`` come back to :meth:`Flow.on_button`; or a link."""

    label: str
    action: str = ""
    arg: str = ""
    url: str | None = None


Keyboard = Sequence[Sequence[Button]]


@dataclass(frozen=True)
class MessageRef:
    """Where a message the bot sent lives, so it can be edited or matched to a reaction later."""

    chat_id: int
    message_id: int


@dataclass(frozen=True)
class Person:
    """Who is talking to us: platform plus the platform's own user id (no names are kept), and
    the language their app says they speak (Telegram's ``language_code``, Discord's locale): the
    one they are answered in until they choose another with /language. Not part of who they
    are: the same person with another app language is the same person."""

    platform: str
    user_id: int
    locale: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Reaction:
    """One emoji put on (``added``) or taken off a message by one person. Platforms that report
    a message's whole reaction list (Telegram) send one event per change."""

    message: MessageRef
    emoji: str
    added: bool


@dataclass(frozen=True)
class Invoice:
    """An in-chat payment request bound to one order by ``payload``: Telegram Stars, or a card
    payment through a payment-provider token (a secret: kept out of ``repr``)."""

    payload: str
    title: str
    description: str
    label: str
    amount: int
    currency: str
    provider_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ChatPayment:
    """Money a person paid in the chat (Telegram's ``successful_payment``), as reported."""

    payload: str  # the invoice's, naming the order
    amount: int
    currency: str
    charge_id: str  # the platform's (Telegram: telegram_payment_charge_id)
    provider_ref: str | None = None  # the payment provider's (Telegram: provider_payment_charge_id)


@dataclass(frozen=True)
class ChatTransaction:
    """One entry of the platform's own record of money moved in the chat (Telegram:
    ``getStarTransactions``): a person's payment through one of our invoices (``payment`` and
    ``payer`` set; ``chat_id`` where to tell them), or a refund we made (``refund``;
    ``charge_id`` is the payment it returned). Other entries are not ours to handle."""

    charge_id: str
    at: float  # when, in seconds since the epoch
    payment: ChatPayment | None = None
    payer: Person | None = None
    chat_id: int | None = None
    refund: bool = False


class MessageGone(Exception):
    """Raised by :meth:`Chat.edit_text` when the message can no longer be edited (the person
    deleted it, or it is too old): send a new one instead."""


class UploadTooLarge(Exception):
    """Raised by :meth:`Chat.send_audio` / :meth:`Chat.send_file` when the platform refuses a
    file for its size after all (a chat's limit lower than it said): stems then go as links."""


class DownloadTooLarge(Exception):
    """Raised by :attr:`Upload.fetch` when the platform refuses a file for its size (a file
    whose size was not declared up front)."""


@dataclass(frozen=True)
class Upload:
    """A file a person sent, before we download it.

    ``size`` is what the platform declares (may be missing); ``fetch`` downloads the file to the
    given path and returns where it ended up, or raises :class:`DownloadTooLarge`.
    """

    file_name: str
    size: int | None
    fetch: Callable[[Path], Awaitable[Path]]
    title: str | None = None
    performer: str | None = None


class Chat(Protocol):
    """One conversation with one person on one platform."""

    @property
    def chat_id(self) -> int: ...

    async def upload_limit(self) -> int:
        """Largest file the bot may send here (platforms' limits differ per chat: Discord's
        depend on the server's boosts); bigger stems fall back to a smaller format, then a link."""
        ...

    async def send_text(self, text: str, buttons: Keyboard | None = None) -> MessageRef: ...

    async def edit_text(self, ref: MessageRef, text: str, buttons: Keyboard | None = None) -> None:
        """Replace a sent message's text; raises :class:`MessageGone` if it no longer exists."""
        ...

    async def send_audio(
        self, path: Path, *, title: str, performer: str, caption: str | None = None
    ) -> MessageRef: ...

    async def send_file(self, path: Path, *, caption: str | None = None) -> MessageRef: ...

    async def send_image(
        self, path: Path, *, caption: str, buttons: Keyboard | None = None
    ) -> MessageRef: ...


class Frontend(Protocol):
    """A chat platform as the flow sees it."""

    platform: str
    # Largest file the bot may fetch from the platform; None when only our own limit applies.
    download_limit: int | None

    def chat(self, chat_id: int) -> Chat: ...


class InvoiceChat(Chat, Protocol):
    """A chat that takes payments in the chat itself."""

    async def send_invoice(self, invoice: Invoice) -> MessageRef: ...


@runtime_checkable
class InChatPayments(Protocol):
    """The optional capability of a :class:`Frontend` whose chats take payments themselves
    (Telegram: Stars invoices, or cards through a provider token). Only such a frontend
    implements it; the core asks :func:`in_chat_payments` before any invoice code runs."""

    # The platform cancels a payment whose pre-checkout question is not answered in time.
    pre_checkout_deadline_s: float

    def chat(self, chat_id: int) -> InvoiceChat: ...

    async def refund(self, person: Person, charge_id: str) -> None:
        """Give an in-chat payment back (Telegram: refundStarPayment). Raises on failure."""
        ...


@runtime_checkable
class PaymentHistory(Protocol):
    """The optional capability of an :class:`InChatPayments` frontend whose platform keeps its
    own record of the money paid (Telegram: ``getStarTransactions``). Recovery reads it to find
    payments the store missed (:meth:`bots.core.invoices.InChatCheckout.reconcile`)."""

    async def transactions(self, offset: int, limit: int) -> Sequence[ChatTransaction]:
        """``limit`` entries from ``offset`` (skip that many), in the platform's order."""
        ...


def payment_history(frontend: object) -> PaymentHistory | None:
    """The frontend's record of in-chat payments, or None where it keeps none."""
    return frontend if isinstance(frontend, PaymentHistory) else None


@runtime_checkable
class PersonalChats(Protocol):
    """The optional capability of a :class:`Frontend` whose chats can be public (Discord: a
    server channel where someone asked): a job's messages find their chat knowing whose they
    are. ``personal`` ones — the paid stems and their links, karaoke clips, refund notices — go
    to the person alone (Discord: ephemeral while the interaction lives, then their DMs), never
    to everyone in the channel. A frontend whose chats are all private (Telegram) has no need of
    it: :func:`event_chat` then uses :meth:`Frontend.chat`."""

    def chat_for(self, chat_id: int, person: Person, personal: bool, job_id: str | None = None) -> Chat: ...

    def personal_chat_id(self, chat: Chat) -> int:
        """A chat id for ``chat``'s person whose job events all go to them alone (Discord: their
        DMs), wherever they asked: where a song sent by upload link continues."""
        ...


def event_chat(
    frontend: Frontend, chat_id: int, person: Person, personal: bool, job_id: str | None = None
) -> Chat:
    """The chat a job event of ``person``'s (about ``job_id``), asked for in ``chat_id``, is
    answered in."""
    if isinstance(frontend, PersonalChats):
        return frontend.chat_for(chat_id, person, personal, job_id)
    return frontend.chat(chat_id)


def continuation_chat_id(frontend: Frontend, chat: Chat) -> int:
    """Where a song sent through an upload link asked for in ``chat`` continues: the chat
    itself, or — where chats can be public — the person's own (:class:`PersonalChats`)."""
    if isinstance(frontend, PersonalChats):
        return frontend.personal_chat_id(chat)
    return chat.chat_id


@runtime_checkable
class PersonalMenus(Protocol):
    """The optional capability of a :class:`Frontend` whose command menu can be set for one
    person (Telegram: ``setMyCommands`` with a chat scope, which outranks the menus set per app
    language): the language a person chose with /language shows in their menu too, not only in
    the answers. A frontend without it (Discord: a slash command's words follow the app's locale
    alone) leaves the menu as the platform shows it."""

    async def set_menu_language(self, person: Person, code: str | None) -> None:
        """Show ``person`` the menu in ``code``; ``None``: the default menu again (their app's
        language), as after /forget. Raises on the platform's failure."""
        ...


def personal_menus(frontend: Frontend) -> PersonalMenus | None:
    """The frontend's per-person menus, or None where it has none."""
    return frontend if isinstance(frontend, PersonalMenus) else None


def supports_invoices(frontend: Frontend) -> bool:
    return isinstance(frontend, InChatPayments)


def in_chat_payments(frontend: Frontend) -> InChatPayments:
    """The frontend's in-chat payments, or :class:`NotImplementedError` for a platform without
    them (Discord sells by card link only)."""
    if not isinstance(frontend, InChatPayments):
        raise NotImplementedError(f"{frontend.platform} has no in-chat invoices")
    return frontend
