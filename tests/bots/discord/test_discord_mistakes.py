"""Every mistake gets a friendly answer and the bot stays up: files that aren't songs, plain
text, a forged button, commands for admins only; and the commands themselves."""

from __future__ import annotations

from pathlib import Path

from tests.bots.discord.conftest import ADMIN_ID, DiscordHarness
from tests.bots.fake_discord import CHANNEL_ID


async def test_bad_files_and_plain_text_get_their_messages_and_the_bot_stays_up(
    discord_bot: DiscordHarness, media: dict[str, Path]
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    erin = bot.person(5005, "erin")
    dm = erin.dm_channel
    await fake.send(erin, media["text"])
    await fake.wait_for_text(dm, "doesn't look like an audio file")
    await fake.send(erin, media["corrupt"])
    await fake.wait_for_text(dm, "seems damaged")
    await fake.send(erin, text="hello?")
    await fake.wait_for_text(dm, "Send me a song as an audio or video attachment")
    await fake.send(erin, text="just chatting", in_guild=True, mention=False)  # not for us
    await fake.send(erin, media["text"], in_guild=True)  # mentions the bot
    await fake.wait_for_text(CHANNEL_ID, "doesn't look like an audio file")
    command = await fake.slash(erin, "separate", file=media["empty"])
    await fake.answer_text(command, "contains no audio")

    assert not bot.queue.active_jobs("discord", erin.id)
    user = bot.pay.users.get("discord", erin.id)
    assert user is not None and bot.pay.users.consume_preview(user).used == 1  # none were spent
    assert not [m for m in fake.in_channel(CHANNEL_ID) if "just chatting" in m.content]
    # Still up: a command is answered.
    await fake.answer_text(await fake.slash(erin, "status"), "no songs in progress")


async def test_a_forged_stars_button_is_answered_and_stars_are_never_built(
    discord_bot: DiscordHarness,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    frank = bot.person(6006, "frank")
    menu = await fake.answer_text(await fake.slash(frank, "help", in_guild=True), "/separate")
    assert menu.ephemeral and menu.for_user == frank.id
    old = fake.plant(CHANNEL_ID, "vr:buy:" + "0" * 32, "vr:nope:x")
    tap = await fake.press(frank, old, "vr:buy:" + "0" * 32)
    answer = await fake.answer_text(tap, "Paying in the chat isn't available here")
    assert answer.ephemeral
    assert "stars" not in vars(bot.services)  # never built on Discord
    junk = await fake.press(frank, old, "vr:nope:x")  # an unknown action: closed quietly
    await fake.wait_for(lambda: junk.original is not None and junk.original.deleted, 10, "closed")


async def test_commands_settings_forget_and_admins(
    discord_bot: DiscordHarness,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    gina, admin = bot.person(7007, "gina"), bot.person(ADMIN_ID, "admin")
    assert "separate" in fake.commands and "stats" in fake.commands
    (identify,) = fake.identified
    assert identify["intents"] & (1 << 15) == 0  # no privileged Message Content intent

    await fake.answer_text(await fake.slash(gina, "history"), "no orders yet")
    refused = await fake.answer_text(await fake.slash(gina, "stats", in_guild=True), "for admins")
    assert refused.ephemeral
    stats = await fake.answer_text(await fake.slash(admin, "stats"), "Users:")
    assert "Previews today" in stats.content
    usage = await fake.answer_text(await fake.slash(admin, "grant"), "Usage")
    assert usage.content == "Usage: /grant args: <user id> paid|free"
    granted = await fake.answer_text(await fake.slash(admin, "grant", args=f"{gina.id} paid"), "is now")
    assert granted.content == f"User {gina.id} is now paid."

    export = await fake.answer_text(await fake.slash(admin, "export"), "All ratings")
    ((name, body),) = export.files.items()
    assert name.startswith("feedback-") and name.endswith(".csv") and body.startswith(b"created_at")
    ask = await fake.answer_text(await fake.slash(gina, "forget"), "to confirm")
    assert "/forget confirm: yes" in ask.content
    await fake.answer_text(await fake.slash(gina, "forget", confirm="yes"), "deleted your data")
    assert bot.pay.users.get("discord", gina.id) is None
