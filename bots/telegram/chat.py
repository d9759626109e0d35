"""The core's :class:`~bots.core.ports.Chat` and :class:`~bots.core.ports.Frontend` on Telegram.

Buttons become inline keyboards whose ``callback_data`` is ``action:arg`` (Telegram allows 64
bytes; our actions are short words and args are ids). Telegram's "message is not modified" on an
unchanged progress edit is not an error for us; "message to edit not found" (the person deleted
it) becomes the core's :class:`~bots.core.ports.MessageGone`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    StarTransaction,
    TransactionPartnerUser,
)
from telegram.constants import TransactionPartnerUser as PartnerKind
from telegram.error import BadRequest

from bots.core.ports import (
    ChatPayment,
    ChatTransaction,
    Invoice,
    Keyboard,
    MessageGone,
    MessageRef,
    Person,
)
from bots.telegram.config import PRE_CHECKOUT_DEADLINE_S, TelegramConfig
from texts import chat as messages
from texts.languages import speak

PLATFORM = "telegram"
STARS = "XTR"  # Telegram Stars' currency code
CALLBACK_SEPARATOR = ":"
MAX_CALLBACK_BYTES = 64
MAX_CAPTION_CHARS = 1024
# How the Bot API says a message can't be edited any more.
GONE_MARKERS = ("message to edit not found", "message can't be edited")


def callback_data(action: str, arg: str) -> str:
    data = f"{action}{CALLBACK_SEPARATOR}{arg}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def parse_callback_data(data: str) -> tuple[str, str]:
    action, _, arg = data.partition(CALLBACK_SEPARATOR)
    return action, arg


def keyboard(buttons: Keyboard | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.label, url=b.url)
                if b.url
                else InlineKeyboardButton(b.label, callback_data=callback_data(b.action, b.arg))
                for b in row
            ]
            for row in buttons
        ]
    )


def _ref(message: Message) -> MessageRef:
    return MessageRef(chat_id=message.chat_id, message_id=message.message_id)


class TelegramChat:
    """One private chat, reached through the application's :class:`telegram.Bot`."""

    def __init__(self, bot: Bot, chat_id: int, upload_limit: int) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._upload_limit = upload_limit

    @property
    def chat_id(self) -> int:
        return self._chat_id

    async def upload_limit(self) -> int:
        return self._upload_limit

    async def send_text(self, text: str, buttons: Keyboard | None = None) -> MessageRef:
        message = await self._bot.send_message(self._chat_id, text, reply_markup=keyboard(buttons))
        return _ref(message)

    async def edit_text(self, ref: MessageRef, text: str, buttons: Keyboard | None = None) -> None:
        try:
            await self._bot.edit_message_text(
                text, chat_id=ref.chat_id, message_id=ref.message_id, reply_markup=keyboard(buttons)
            )
        except BadRequest as err:
            reason = str(err).lower()
            if any(marker in reason for marker in GONE_MARKERS):
                raise MessageGone(str(err)) from err
            if "not modified" not in reason:
                raise

    async def send_audio(
        self, path: Path, *, title: str, performer: str, caption: str | None = None
    ) -> MessageRef:
        with path.open("rb") as handle:
            message = await self._bot.send_audio(
                self._chat_id,
                handle,
                title=title,
                performer=performer,
                filename=path.name,
                caption=caption[:MAX_CAPTION_CHARS] if caption else None,
            )
        return _ref(message)

    async def send_file(self, path: Path, *, caption: str | None = None) -> MessageRef:
        with path.open("rb") as handle:
            message = await self._bot.send_document(
                self._chat_id,
                handle,
                filename=path.name,
                caption=caption[:MAX_CAPTION_CHARS] if caption else None,
            )
        return _ref(message)

    async def send_image(self, path: Path, *, caption: str, buttons: Keyboard | None = None) -> MessageRef:
        with path.open("rb") as handle:
            message = await self._bot.send_photo(
                self._chat_id,
                handle,
                caption=caption[:MAX_CAPTION_CHARS],
                reply_markup=keyboard(buttons),
            )
        return _ref(message)

    async def send_invoice(self, invoice: Invoice) -> MessageRef:
        message = await self._bot.send_invoice(
            self._chat_id,
            title=invoice.title,
            description=invoice.description,
            payload=invoice.payload,
            currency=invoice.currency,
            prices=[LabeledPrice(invoice.label, invoice.amount)],
            provider_token=invoice.provider_token,
        )
        return _ref(message)


class TelegramFrontend:
    """Telegram's limits, a way back to any chat from a job event, and in-chat payments (the
    core's optional :class:`~bots.core.ports.InChatPayments`: Stars invoices and their refunds)."""

    platform = PLATFORM
    pre_checkout_deadline_s = PRE_CHECKOUT_DEADLINE_S

    def __init__(self, bot: Bot, config: TelegramConfig) -> None:
        self._bot = bot
        self._config = config
        self.download_limit = config.download_limit
        self.upload_limit = config.upload_limit

    def chat(self, chat_id: int) -> TelegramChat:
        return TelegramChat(self._bot, chat_id, self.upload_limit)

    async def refund(self, person: Person, charge_id: str) -> None:
        ok = await self._bot.refund_star_payment(person.user_id, charge_id)
        if not ok:
            raise RuntimeError("refundStarPayment returned false")

    async def set_menu_language(self, person: Person, code: str | None) -> None:
        """The core's :class:`~bots.core.ports.PersonalMenus`: the person's private chat gets
        its own menu (a chat scope outranks the menus by app language); ``None`` deletes it."""
        scope = BotCommandScopeChat(person.user_id)  # a private chat's id is the person's id
        if code is None:
            await self._bot.delete_my_commands(scope=scope)
        else:
            await self._bot.set_my_commands(menu_in(code), scope=scope)

    async def transactions(self, offset: int, limit: int) -> Sequence[ChatTransaction]:
        """The bot's Stars history (``getStarTransactions``, "in chronological order"): the
        core's :class:`~bots.core.ports.PaymentHistory`, read by recovery."""
        found = await self._bot.get_star_transactions(offset=offset, limit=limit)
        return [_transaction(tx) for tx in found.transactions]


def menu_in(code: str) -> list[BotCommand]:
    """The command menu (a person's, not an admin's) in the language ``code``."""
    with speak(code):
        return [BotCommand(name, what) for name, what in messages.catalogue(PLATFORM, 0).commands()]


def _transaction(tx: StarTransaction) -> ChatTransaction:
    """A Stars transaction as the core sees it: a person's invoice payment to us (its id is the
    payment's ``telegram_payment_charge_id``), a refund we made (it has the id of the payment it
    returned), or neither."""
    at = tx.date.timestamp()
    source, receiver = tx.source, tx.receiver
    if isinstance(source, TransactionPartnerUser) and (
        source.transaction_type == PartnerKind.INVOICE_PAYMENT
    ):
        payer = Person(PLATFORM, source.user.id)
        paid = ChatPayment(source.invoice_payload or "", tx.amount, STARS, tx.id)
        # A private chat's id is the person's id: where the bot tells them.
        return ChatTransaction(tx.id, at, payment=paid, payer=payer, chat_id=source.user.id)
    return ChatTransaction(tx.id, at, refund=isinstance(receiver, TransactionPartnerUser))
