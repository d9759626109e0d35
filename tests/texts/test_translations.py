"""Every language's catalogue is complete and fits the platforms.

* the template (``texts/locale/vocal_remover.pot``) holds exactly the texts the code marks (Babel's
  own extractor over ``texts/``), and each language's ``.po`` translates every one of them: no
  empty, fuzzy or leftover entry;
* each translation names exactly the placeholders of its English text (so ``.format`` never
  fails and never drops a figure), in every plural form;
* each catalogue has the plural forms CLDR gives its language (three for Russian and Ukrainian),
  every one filled;
* the texts that platforms limit stay within the limits in every language (Telegram: callback
  answers 200 characters, invoice title 32 and description 255, captions 1024, ``callback_data``
  64 bytes; Discord: button labels 80, command names 1–32 lowercase, command descriptions 100);
* a platform's or browser's tag finds its language, and anything else is English.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from texts import chat, errors, payments, web
from texts.languages import (
    CODES,
    LANGUAGES,
    LOCALE_DIR,
    discord_locales,
    from_accept_language,
    negotiate,
    resolve,
    speak,
    stripe_locale,
)
from texts.translation import DOMAIN
from texts.units import spoken_duration

REPO = Path(__file__).resolve().parents[2]
TRANSLATED = [code for code in CODES if code != "en"]
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"

# Telegram's limits (Bot API) and Discord's (application commands, components).
CALLBACK_ANSWER_MAX = 200
INVOICE_TITLE_MAX = 32
INVOICE_DESCRIPTION_MAX = 255
CAPTION_MAX = 1024
CALLBACK_DATA_MAX_BYTES = 64
TELEGRAM_COMMAND_DESCRIPTION_MAX = 256
DISCORD_LABEL_MAX = 80
DISCORD_DESCRIPTION_MAX = 100
DISCORD_NAME = re.compile(r"^[-_\w]{1,32}$")


def _catalogue(code: str) -> Catalog:
    with (LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=code)


def _key(message: Message) -> tuple[str | None, str]:
    singular = message.id[0] if isinstance(message.id, tuple | list) else message.id
    return message.context, singular


def _fields(text: str) -> set[str]:
    return {field for _t, field, _s, _c in string.Formatter().parse(text) if field is not None}


def test_the_template_holds_exactly_the_texts_the_code_marks() -> None:
    extracted = {
        (context, message if isinstance(message, str) else message[0])
        for _file, _line, message, _comments, context in extract_from_dir(
            str(REPO), method_map=[("texts/**.py", "python")]
        )
    }
    with TEMPLATE.open("rb") as pot:
        template = {_key(m) for m in read_po(pot) if m.id}
    assert extracted == template, (
        "texts/locale/vocal_remover.pot is out of date: run scripts/translations.sh update "
        f"(new: {sorted(map(str, extracted - template))[:5]}, gone: "
        f"{sorted(map(str, template - extracted))[:5]})"
    )


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated(code: str) -> None:
    with TEMPLATE.open("rb") as pot:
        wanted = {_key(m) for m in read_po(pot) if m.id}
    catalogue = _catalogue(code)
    present = {_key(m): m for m in catalogue if m.id}
    assert set(present) == wanted, f"{code}: run scripts/translations.sh update"
    assert not catalogue.obsolete, f"{code} keeps obsolete entries"
    for key, message in present.items():
        assert not message.fuzzy, f"{code}: fuzzy {key}"
        forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
        assert forms and all(forms), f"{code}: untranslated {key}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_placeholders_are_those_of_the_english(code: str) -> None:
    for message in _catalogue(code):
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            english = _fields(message.id[0]) | _fields(message.id[1])
            forms = list(message.string)
        else:
            english, forms = _fields(message.id), [message.string]
        for form in forms:
            assert _fields(form) == english, f"{code}: {message.id!r} → {form!r}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_plural_forms_are_the_languages_own(code: str) -> None:
    catalogue = _catalogue(code)
    expected = get_plural(code)
    assert catalogue.num_plurals == expected.num_plurals, code
    assert catalogue.plural_expr == expected.plural_expr, code
    plurals = [m for m in catalogue if m.id and isinstance(m.id, tuple | list)]
    assert plurals
    for message in plurals:
        assert len(message.string) == expected.num_plurals and all(message.string), message.id


def test_russian_and_ukrainian_say_one_few_and_many() -> None:
    forms = {"ru": ("секунда", "секунды", "секунд"), "uk": ("секунда", "секунди", "секунд")}
    for code, words in forms.items():
        with speak(code):
            said = [spoken_duration(n) for n in (1, 3, 5, 21, 11)]
        assert said == [
            f"1 {words[0]}",
            f"3 {words[1]}",
            f"5 {words[2]}",
            f"21 {words[0]}",
            f"11 {words[2]}",
        ], (code, said)


class _Karaoke:
    guide_db = -12.0
    semitones = -6
    tempo_percent = 80


def _texts_under(limit: int) -> dict[str, str]:
    """What a platform limits to ``limit``, rendered with long but real values."""
    karaoke = _Karaoke()
    telegram = chat.catalogue(chat.TELEGRAM, 24)
    if limit == CALLBACK_ANSWER_MAX:  # what a button tap answers (``Flow.on_button``)
        return {
            "FEEDBACK_THANKS": chat.FEEDBACK_THANKS,
            "FEEDBACK_UNKNOWN": chat.FEEDBACK_UNKNOWN,
            "NOT_YOUR_BUTTON": chat.NOT_YOUR_BUTTON,
            "KARAOKE_ORIGINAL": chat.KARAOKE_ORIGINAL,
            "KARAOKE_SLOW_DOWN": chat.KARAOKE_SLOW_DOWN,
            "KARAOKE_ALREADY_MAKING": chat.KARAOKE_ALREADY_MAKING,
            "KARAOKE_PREVIEW_GONE": chat.KARAOKE_PREVIEW_GONE,
            "KARAOKE_ONE_AT_A_TIME": chat.KARAOKE_ONE_AT_A_TIME,
            "KARAOKE_BUSY": chat.KARAOKE_BUSY,
            "format_saved": chat.format_saved("flac"),
            "karaoke_saved": chat.karaoke_saved(karaoke),
            "karaoke_quota": chat.karaoke_quota(20),
            "card_unavailable": telegram.card_unavailable,
            "language_saved": chat.language_saved(LANGUAGES[2]),
            "NO_IN_CHAT_PAYMENTS": telegram.NO_IN_CHAT_PAYMENTS,
        }
    if limit == CAPTION_MAX:
        return {
            "preview_caption": chat.preview_caption(754.0, 30.0, chat.money(199999, "EUR"), True),
            "delivered": chat.delivered("flac", 30),
            "karaoke_caption": chat.karaoke_caption(karaoke),
            "EXPORT_CAPTION": chat.EXPORT_CAPTION,
        }
    if limit == INVOICE_DESCRIPTION_MAX:
        return {"payments.invoice_description": payments.invoice_description()}
    if limit == INVOICE_TITLE_MAX:
        return {"payments.invoice_title": payments.invoice_title()}
    assert limit == DISCORD_LABEL_MAX
    price = chat.money(199999, "EUR")
    labels = {name: getattr(chat, name) for name in chat._FIXED if name.endswith("_BUTTON")}
    labels |= {
        "buy_button": chat.buy_button(price),
        "buy_by_card_button": chat.buy_by_card_button(price),
        "download_button": chat.download_button("instrumental"),
        "karaoke_guide_button": chat.karaoke_guide_button(-18.0, -18.0),
        "rate_up": web.rate_up(),
        "rate_down": web.rate_down(),
        "web.download": web.download("instrumental", "FLAC, 99.9 MB"),
    }
    return labels


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize(
    "limit", [CALLBACK_ANSWER_MAX, CAPTION_MAX, INVOICE_DESCRIPTION_MAX, INVOICE_TITLE_MAX, DISCORD_LABEL_MAX]
)
def test_texts_fit_the_platforms_limits(code: str, limit: int) -> None:
    with speak(code):
        texts = _texts_under(limit)
    too_long = {name: len(text) for name, text in texts.items() if len(text) > limit}
    assert not too_long, f"{code}: over {limit} characters: {too_long}"


@pytest.mark.parametrize("code", CODES)
def test_an_invoice_title_leaves_room_for_the_song(code: str) -> None:
    """``chat.invoice_title`` cuts a long song title to Telegram's 32 characters; its own words
    must leave room for one."""
    with speak(code):
        words = chat.invoice_title("")
        description = chat.invoice_description(19.9, "flac")
    assert len(words) <= INVOICE_TITLE_MAX - 10, (code, words)
    assert len(description) < INVOICE_DESCRIPTION_MAX, (code, description)


@pytest.mark.parametrize("code", CODES)
def test_commands_fit_telegram_and_discord(code: str) -> None:
    with speak(code):
        telegram = chat.catalogue(chat.TELEGRAM, 24).commands()
        discord = chat.catalogue(chat.DISCORD, 24).commands()
        names = chat.command_names()
        admin = chat.admin_commands()
        options = [chat.SEPARATE_FILE_OPTION, chat.FORGET_CONFIRM_OPTION, chat.LANGUAGE_OPTION]
    for name, description in telegram:
        assert 3 <= len(description) <= TELEGRAM_COMMAND_DESCRIPTION_MAX, (code, name)
    for name, description in [*discord, *admin]:
        assert 1 <= len(description.lstrip("— ")) <= DISCORD_DESCRIPTION_MAX, (code, name, description)
    for option in options:
        assert 1 <= len(option) <= DISCORD_DESCRIPTION_MAX, (code, option)
    for english, local in names.items():
        assert DISCORD_NAME.match(local) and local == local.lower(), (code, english, local)
    assert len(set(names.values())) == len(names), f"{code}: two commands share a name"


@pytest.mark.parametrize("code", CODES)
def test_forget_is_confirmed_by_the_word_each_language_asks_for(code: str) -> None:
    with speak(code):
        word = chat.forget_yes()
        asked = chat.catalogue(chat.TELEGRAM, 24).forget_confirm
    assert f"/forget {word}" in asked or word in asked, (code, asked)
    assert chat.confirms_forget(word) and chat.confirms_forget(f" {word.upper()} ")
    assert chat.confirms_forget("yes")  # English is understood everywhere
    assert (
        not chat.confirms_forget("")
        and not chat.confirms_forget("no")
        and not chat.confirms_forget(f"{word}!")
    )


def test_callback_data_fits_telegram_for_every_language() -> None:
    from bots.core import keyboards
    from bots.telegram.chat import callback_data

    buttons = [button for row in keyboards.language_buttons() for button in row]
    assert [button.arg for button in buttons] == list(CODES)
    for button in buttons:
        data = callback_data(button.action, button.arg)
        assert len(data.encode()) <= CALLBACK_DATA_MAX_BYTES, data


@pytest.mark.parametrize("code", CODES)
def test_every_error_has_words_in_every_language(code: str) -> None:
    with speak(code):
        for error_code, entry in errors.TEXTS.items():
            needed, _taken = errors.entry_parameters(entry)
            words = errors.error_text(error_code, **{name: 2 for name in needed})
            assert words and "{" not in words, (code, error_code)


def test_tags_find_their_language() -> None:
    assert negotiate("ru") == "ru" and negotiate("ru-RU") == "ru"
    assert negotiate("pt-br") == negotiate("pt_BR") == negotiate("pt-BR") == "pt_BR"
    assert negotiate("pt") == "pt_BR" and negotiate("pt-PT") == "pt_BR"
    assert negotiate("es-419") == negotiate("es-ES") == "es"
    assert negotiate("en-GB") == negotiate("en-US") == "en"
    assert negotiate("uk") == "uk" and negotiate("fa-IR") == "fa"
    assert negotiate("zh-CN") is None and negotiate("") is None and negotiate(None) is None
    assert resolve(None, "xx", "de") == "de" and resolve("zh") == "en"
    assert from_accept_language("zh-CN,fa;q=0.8,en;q=0.5") == "fa"
    assert from_accept_language("en;q=0.4, de") == "de"
    assert from_accept_language("*") is None and from_accept_language(None) is None
    # Discord names no Persian locale; every other language has at least one.
    assert set(discord_locales().values()) == set(CODES) - {"fa"}
    assert stripe_locale("pt_BR") == "pt-BR" and stripe_locale("uk") == "auto"
    assert stripe_locale("fa") == "auto" and stripe_locale(None) == "en"


def test_unknown_languages_speak_english_and_numbers_follow_the_locale() -> None:
    with speak("klingon") as spoken:
        assert spoken == "en" and chat.PREVIEW_READY == "Your preview is ready ↓"
        assert chat.money(199, "USD") == "$1.99" and chat.money(1234, "XTR") == "1,234 ⭐"
    with speak("de"):
        assert chat.money(199, "EUR") == "1,99\u00a0€" and chat.PREVIEW_READY == "Deine Vorschau ist fertig ↓"
        assert web.size(int(4.2 * 1024 * 1024)) == "4,2 MB"
    with speak("ru"):
        assert chat.money(123456, "RUB") == "1\u00a0234,56\u00a0₽"
    assert chat.PREVIEW_READY == "Your preview is ready ↓"  # outside: the source again
