"""Speaking the person's language on Discord (discord.py against the fake Discord): the slash
commands are synced with a name and description per Discord locale (``app_commands.Translator``
over the catalogue), a person whose app is in Brazilian Portuguese gets the answers in it, a
server message is answered in the server's language, and /language covers what Discord has no
locale for (Persian)."""

from __future__ import annotations

from pathlib import Path

from tests.bots.discord.conftest import DiscordHarness
from tests.bots.fake_discord import CHANNEL_ID, Person
from texts import chat
from texts.languages import LANGUAGES, discord_locales, speak


async def test_slash_commands_are_localised_for_every_discord_locale(
    discord_bot: DiscordHarness,
) -> None:
    commands = discord_bot.fake.commands
    separate = commands["separate"]
    assert separate["name_localizations"]["pt-BR"] == "separar"
    assert separate["name_localizations"]["ru"] == "разделить"
    assert separate["name_localizations"]["es-419"] == separate["name_localizations"]["es-ES"]
    with speak("pt_BR"):
        assert (
            separate["description_localizations"]["pt-BR"]
            == dict(chat.catalogue(chat.DISCORD, 0).commands())["separate"]
        )
        assert separate["options"][0]["description_localizations"]["pt-BR"] == (chat.SEPARATE_FILE_OPTION)
    # Every locale we speak, none we don't (Discord has no Persian: /language covers it).
    assert set(commands["forget"]["name_localizations"]) == set(discord_locales()) - {"en-US", "en-GB"}
    language = commands["language"]
    assert [c["name"] for c in language["options"][0]["choices"]] == [lang.native for lang in LANGUAGES]
    assert language["name_localizations"]["de"] == "sprache"
    # Admin commands keep their names; their descriptions are localised too.
    assert commands["stats"]["name"] == "stats" and "name_localizations" not in {
        k for k, v in commands["stats"].items() if v
    }
    assert commands["stats"]["description_localizations"]["tr"].startswith("Kullanıcılar")


async def test_a_brazilian_person_gets_portuguese_answers_and_help(
    discord_bot: DiscordHarness, worker: object, media: dict[str, Path]
) -> None:
    fake = discord_bot.fake
    bia = Person(5005, "bia", locale="pt-BR")
    helped = await fake.answer_text(await fake.slash(bia, "help"), "Comandos:")
    assert "/separar — Separar uma música" in helped.content
    assert "/esquecer — " in helped.content

    command = await fake.slash(bia, "separate", file=media["song"])
    assert await fake.answer_text(command, "Recebi — ")
    ready = await fake.answer_text(command, "Sua prévia está pronta", timeout=120)
    assert ready
    previews = await discord_bot.preview(bia.dm_channel)
    assert any("(prévia instrumental)" in m.content for m in previews), [m.content for m in previews]
    waveform = next(m for m in previews if any(n.endswith(".png") for n in m.files))
    assert waveform.content.startswith("Prévia: ")
    labels = [b["label"] for r in waveform.components for b in r["components"]]
    assert "Comprar faixas completas — US$\u00a01,99" in labels, labels
    assert "🎤 Tom −1" in labels and "Andamento +5 %" in labels, labels
    job = discord_bot.queue.get(
        next(u for u in waveform.urls if "/buy/" in u).rsplit("/", 1)[1].split(".")[0]
    )
    assert job is not None and job.language == "pt_BR"


async def test_a_server_message_speaks_the_servers_language(discord_bot: DiscordHarness) -> None:
    fake = discord_bot.fake
    fake.guild_locale = "de"  # the server's language, as Discord reports it when the bot joins
    await discord_bot.stop()
    await discord_bot.start()
    lena = Person(6006, "lena")
    await fake.send(lena, text="hallo", in_guild=True)
    said = await fake.wait_for_text(CHANNEL_ID, "Schick mir einen Song als")
    assert said


async def test_language_covers_persian_which_discord_lacks(discord_bot: DiscordHarness) -> None:
    fake = discord_bot.fake
    sara = Person(7007, "sara")  # an English app: Discord has no Persian
    chosen = await fake.answer_text(await fake.slash(sara, "language", language="fa"), "انجام شد")
    with speak("fa"):
        assert chosen.content == chat.language_saved(LANGUAGES[-1])
    assert discord_bot.pay.users.get("discord", sara.id).language == "fa"
    status = await fake.answer_text(await fake.slash(sara, "status"), "آهنگی در حال پردازش ندارید")
    assert status
    await discord_bot.stop()
    await discord_bot.start()
    again = await fake.answer_text(await fake.slash(sara, "cancel"), "چیزی در صف ندارید")
    assert again
