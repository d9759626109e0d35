"""Key and tempo on Telegram, end to end with a real worker: the preview's status message is
edited with the song's BPM, key and Camelot code once its analysis is in, and a karaoke key step
says where it lands."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from engine.constants import SAMPLE_RATE
from tests.bots.conftest import Harness
from tests.bots.test_telegram_karaoke import answers, toast
from tests.conftest import e_minor_at_120


async def test_the_preview_shows_key_and_tempo_when_ready(
    bot: Harness, worker: object, tmp_path: Path
) -> None:
    api, user = bot.api, bot.user(401, "Dee")
    song = tmp_path / "Click in E minor.wav"
    sf.write(song, e_minor_at_120(10.0), SAMPLE_RATE, subtype="PCM_16")
    api.send_media(user, song, "audio", title="Click", performer="The Testers")
    _, _, photo = await bot.preview(user)

    status = await api.wait_for_text(user.id, "120 BPM · E minor · 9A", timeout=60)
    assert status.startswith("Your preview is ready")

    # A key step under the preview says where it lands.
    before = answers(api)
    api.press(user, photo.result, bot.button(photo, "kp:kup:")["callback_data"])
    assert "E minor → F minor, +1" in await toast(api, before)
