"""Speaking the person's language on Telegram (PTB against the fake Bot API): a person whose app
is Russian gets the whole song-to-stems flow in Russian, Stars invoice included; the command menu
is set in every language; /language de switches (answers and the person's own menu) and the choice
outlives a restart; /forget gives the app's menu back."""

from __future__ import annotations

from pathlib import Path

from tests.bots.conftest import PRICE_STARS, Harness
from texts import chat
from texts.languages import LANGUAGES, speak


async def test_a_russian_person_sends_a_song_and_pays_with_stars_all_in_russian(
    bot: Harness, worker: object, media: dict[str, Path]
) -> None:
    api, user = bot.api, bot.user(301, "Аня", language_code="ru")
    api.send_text(user, "/start")
    start = await api.wait_for_text(user.id, "Привет!")
    assert f"{PRICE_STARS} ⭐" in start and "/forget" in start

    api.send_media(user, media["song"], "audio", title="Синяя песня", performer="Тест")
    await api.wait_for_text(user.id, "Принято")
    instrumental, vocals, photo = await bot.preview(user)
    assert instrumental.params["title"] == "Синяя песня (превью инструментала)"
    assert vocals.params["title"] == "Синяя песня (превью вокала)"
    assert photo.params["caption"].startswith("Превью: ")
    assert bot.button(photo, "buy:")["text"] == f"Полные дорожки — {PRICE_STARS} ⭐"

    invoice = await bot.buy(user, photo)
    assert invoice.params["title"] == "Дорожки: Синяя песня"
    assert invoice.params["description"].startswith("Вокал и инструментал всей песни")
    assert invoice.params["prices"] == [{"label": "Полные дорожки", "amount": PRICE_STARS}]
    assert await bot.pay_invoice(user, invoice, charge_id="stars-ru-1")
    await api.wait_for_text(user.id, "Оплата получена")

    stems = await api.wait_for_call(user.id, "sendAudio", count=4, timeout=90)
    assert [c.files["audio"][0] for c in stems[2:]] == [
        "Синяя песня (вокал).mp3",
        "Синяя песня (инструментал).mp3",
    ]
    assert await api.wait_for_text(user.id, "Вот ваши дорожки (MP3)")
    # The job records carried the language: the paid job's answers came in it, not from the app.
    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
    full_job = bot.queue.get(bot.pay.ledger.get_order(order.id).fulfil_job_id)
    assert full_job.language == "ru"
    # Paying again is refused in the payment sheet, in Russian.
    ok, why = await bot.pre_checkout(user, invoice.params["payload"], PRICE_STARS)
    assert not ok and why == "Эта песня уже оплачена - дорожки уже в пути."


async def test_the_command_menu_is_set_in_every_language(bot: Harness) -> None:
    menus = bot.api.my_commands
    assert set(menus) == {""} | {lang.tag.split("-")[0] for lang in LANGUAGES if lang.code != "en"}
    described = {c["command"]: c["description"] for c in menus["ru"]}
    with speak("ru"):
        assert described["language"] == "Выбрать язык бота"
        assert described["forget"] == "Удалить всё, что мы о вас храним"
    assert {c["command"] for c in menus[""]} == {c["command"] for c in menus["fa"]}
    assert dict((c["command"], c["description"]) for c in menus[""])["help"] == "How to use the bot"


async def test_language_de_switches_and_outlives_a_restart(bot: Harness) -> None:
    api, user = bot.api, bot.user(302)  # an English app
    api.send_text(user, "/language")
    choose = await api.wait_for_text(user.id, "Which language shall I speak")
    buttons = api.calls_to(user.id, "sendMessage")[-1].params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in buttons for b in row] == [lang.native for lang in LANGUAGES]
    assert choose

    api.send_text(user, "/language de")
    assert await api.wait_for_text(user.id, "Erledigt — ab jetzt spreche ich Deutsch mit dir.")
    assert bot.pay.users.get("telegram", user.id).language == "de"
    # Their own menu speaks it too (a chat scope outranks the English app's menu).
    with speak("de"):
        german = dict(chat.catalogue("telegram", 0).commands())
    assert {c["command"]: c["description"] for c in api.chat_commands[user.id]} == german
    assert german["help"] != dict((c["command"], c["description"]) for c in api.my_commands[""])["help"]

    await bot.stop()
    await bot.start()
    api.send_text(user, "/help")
    assert await api.wait_for_text(user.id, "Schick mir einen Song und ich trenne ihn.")

    # A button picks one too: the answer is shown in the language chosen.
    message = api.calls_to(user.id, "sendMessage")[0]
    api.press(user, message.result, "lang:fa")
    answer = await api.wait_for(
        lambda: next(
            (c for c in api.calls if c.method == "answerCallbackQuery" and c.params.get("text")), None
        ),
        what="the button's answer",
    )
    with speak("fa"):
        assert answer.params["text"] == chat.language_saved(LANGUAGES[-1])
        persian = dict(chat.catalogue("telegram", 0).commands())
    assert {c["command"]: c["description"] for c in api.chat_commands[user.id]} == persian
    api.send_text(user, "/language klingon")
    assert await api.wait_for_text(user.id, "این زبان را هنوز بلد نیستم")

    # /forget, confirmed in Persian as the bot asks, takes the choice; the app's menu is back.
    with speak("fa"):
        assert "/forget بله" in chat.catalogue("telegram", 0).forget_confirm
    api.send_text(user, "/forget بله")
    with speak("fa"):
        await api.wait_for_text(user.id, chat.FORGOTTEN)
    assert user.id not in api.chat_commands
