"""Karaoke on Discord through its components: /settings buttons change the saved preference, and
a key tap under a preview sends the clip in the new key (a real worker renders it)."""

from __future__ import annotations

from pathlib import Path

from engine.audio import decode
from engine.karaoke import KaraokeSettings
from tests.bots.discord.conftest import DiscordHarness, job_of
from tests.engine.test_karaoke import cents, pitch_hz


def pitch_of(name: str, data: bytes, tmp_path: Path) -> float:
    path = tmp_path / "heard" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return pitch_hz(decode(path, allow_silence=True))


async def test_settings_and_preview_karaoke_buttons(
    discord_bot: DiscordHarness, worker: object, media: dict[str, Path], tmp_path: Path
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    erin = bot.person(5005, "erin")
    dm = erin.dm_channel
    settings = await fake.slash(erin, "settings")
    menu = await fake.answer_text(settings, "Karaoke version: guide vocal off")
    assert {"vr:fmt:mp3", "vr:ks:g12", "vr:ks:kup", "vr:ks:tdn", "vr:ks:orig"} <= set(menu.custom_ids)
    tap = await fake.press(erin, menu, "vr:ks:g18")
    assert "guide vocal −18 dB" in (await fake.answer_text(tap, "Karaoke:")).content
    assert bot.services.state.karaoke(erin.id) == KaraokeSettings(guide_db=-18)

    await fake.send(erin, media["song"])
    instrumental, _, waveform = await bot.preview(dm)
    job_id = job_of(waveform)
    assert f"vr:kp:kup:{job_id}" in waveform.custom_ids
    tap = await fake.press(erin, waveform, f"vr:kp:kup:{job_id}")
    said = await fake.answer_text(tap, "Making the preview")
    assert "guide vocal −18 dB, key +1" in said.content

    def clip() -> object:
        return next((m for m in fake.in_channel(dm) if m.id > waveform.id and m.files), None)

    sent = await fake.wait_for(clip, 60, "the karaoke clip")
    ((name, data),) = sent.files.items()
    assert name == "Blue Song (karaoke preview).mp3"
    assert "key +1" in sent.content
    ((stem_name, stem),) = instrumental.files.items()
    shift = cents(pitch_of(name, data, tmp_path), pitch_of(stem_name, stem, tmp_path))
    assert abs(shift - 100) < 15, shift
    assert bot.services.state.karaoke(erin.id) == KaraokeSettings(guide_db=-18, semitones=1)
