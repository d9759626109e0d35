"""What one karaoke tap does to a preference, and that every karaoke button fits both platforms'
limits (Telegram's 64-byte callback_data, Discord's custom_id template and five rows)."""

from __future__ import annotations

import pytest

from bots.core import karaoke, keyboards
from bots.discord.components import custom_id
from bots.telegram.chat import callback_data
from engine.karaoke import IDENTITY, MAX_SEMITONES, MIN_SEMITONES, KaraokeSettings

JOB = "f" * 32


def test_steps_move_one_notch_and_stop_at_the_bounds() -> None:
    settings = IDENTITY
    for _ in range(MAX_SEMITONES + 3):
        settings = karaoke.apply_change(settings, karaoke.KEY_UP)
    assert settings == KaraokeSettings(semitones=MAX_SEMITONES)
    for _ in range(MAX_SEMITONES - MIN_SEMITONES + 3):
        settings = karaoke.apply_change(settings, karaoke.KEY_DOWN)
    assert settings.semitones == MIN_SEMITONES
    tempos = []
    settings = IDENTITY
    for _ in range(6):
        settings = karaoke.apply_change(settings, karaoke.TEMPO_UP)
        tempos.append(settings.tempo_percent)
    assert tempos == [105, 110, 115, 120, 120, 120]
    assert karaoke.apply_change(KaraokeSettings(tempo_percent=80), karaoke.TEMPO_DOWN) == (
        KaraokeSettings(tempo_percent=80)
    )


def test_guide_cycles_quietest_first_and_reset_is_the_original() -> None:
    levels = []
    settings = KaraokeSettings(semitones=2)
    for _ in range(5):
        settings = karaoke.apply_change(settings, karaoke.GUIDE_NEXT)
        levels.append(settings.guide_db)
    assert levels == [-18.0, -12.0, -6.0, None, -18.0]
    assert settings.semitones == 2  # the guide changes nothing else
    assert karaoke.apply_change(settings, "g6") == KaraokeSettings(guide_db=-6, semitones=2)
    assert karaoke.apply_change(settings, "goff").guide_db is None
    assert karaoke.apply_change(settings, karaoke.RESET) == IDENTITY


@pytest.mark.parametrize("forged", ["", "k+", "g7", "kup:1", "t90", "ORIG"])
def test_a_change_no_button_sends_changes_nothing(forged: str) -> None:
    assert karaoke.apply_change(IDENTITY, forged) is None


def test_every_karaoke_button_fits_telegram_and_discord() -> None:
    settings_rows = keyboards.karaoke_settings(KaraokeSettings(-12, 2, 90))
    preview_rows = keyboards.preview(
        JOB,
        "50 ⭐",
        in_chat=True,
        card=True,
        current="mp3",
        page_url="https://example.com/r/x",
        karaoke_tools=True,
    )
    assert len(preview_rows) <= 5 and all(len(row) <= 5 for row in preview_rows)
    buttons = [b for row in [*settings_rows, *preview_rows] for b in row if b.action]
    karaoke_buttons = [b for b in buttons if b.action.startswith("k")]
    assert len(karaoke_buttons) == 4 + 4 + 1 + 5
    for button in karaoke_buttons:
        assert len(callback_data(button.action, button.arg).encode()) <= 64
        custom_id(button.action, button.arg)  # raises if Discord's template refuses it
    ticked = [b.label for b in settings_rows[0] if b.label.startswith("✓")]
    assert ticked == ["✓ Guide −12 dB"]
    assert "kp" not in {b.action for row in keyboards.preview(JOB, "1", True, False, "mp3") for b in row}
