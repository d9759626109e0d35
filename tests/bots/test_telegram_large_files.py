"""Big files: over 20 MB in through a local Bot API server, over the upload limit out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.core.delivery import StemsTooLarge, candidate_formats, fit_for_upload
from engine.audio import encode
from tests.bots.conftest import Harness
from tests.bots.songs import synth_song

SMALL_UPLOAD_LIMIT = 320_000  # bytes: 4.3 s of WAV stems are over it


def test_fallback_order_starts_at_the_wished_format() -> None:
    assert candidate_formats("wav") == ["wav", "flac", "mp3"]
    assert candidate_formats("flac") == ["flac", "mp3"]
    assert candidate_formats("mp3") == ["mp3"]


@pytest.mark.apt  # encodes FLAC and MP3 with ffmpeg
async def test_fit_for_upload_steps_down_wav_flac_mp3(tmp_path: Path) -> None:
    stems = [encode(synth_song(3.0, seed=s), tmp_path / f"{n}.wav") for s, n in ((1, "a"), (2, "b"))]
    wav_size = max(p.stat().st_size for p in stems)

    fitted = await fit_for_upload(stems, "wav", wav_size, tmp_path / "w")
    assert (fitted.fmt, fitted.fell_back, fitted.files) == ("wav", False, stems)

    flac = await fit_for_upload(stems, "wav", wav_size - 1, tmp_path / "f")
    assert flac.fmt == "flac" and flac.fell_back
    flac_size = max(p.stat().st_size for p in flac.files)
    assert all(p.read_bytes()[:4] == b"fLaC" for p in flac.files)

    mp3 = await fit_for_upload(stems, "wav", flac_size - 1, tmp_path / "m")
    assert mp3.fmt == "mp3" and all(p.suffix == ".mp3" for p in mp3.files)
    assert max(p.stat().st_size for p in mp3.files) < flac_size

    with pytest.raises(StemsTooLarge):
        await fit_for_upload(stems, "flac", 1000, tmp_path / "x")


@pytest.fixture
def bot_options() -> dict[str, object]:
    return {"local_mode": True, "upload_limit": SMALL_UPLOAD_LIMIT}


async def test_local_bot_api_server_takes_a_26_mb_file_and_big_stems_step_down_to_flac(
    bot: Harness, worker: object, media: dict[str, Path]
) -> None:
    api, user = bot.api, bot.user(301)
    api.upload_limit = SMALL_UPLOAD_LIMIT  # the fake refuses what a real server would
    assert media["large"].stat().st_size > 25 * 1024 * 1024
    api.send_media(user, media["large"], "document", mime_type="audio/wav")
    _, _, photo = await bot.preview(user, timeout=90)
    # In --local mode the bot reads the file from the server's disk by its absolute path.
    (get_file,) = [c for c in api.calls if c.method == "getFile"]
    assert Path(get_file.result["file_path"]).is_absolute()

    # The person wants WAV; the stems are over the upload limit as WAV and as FLAC.
    api.press(user, photo.result, bot.button(photo, "fmt:wav")["callback_data"])
    await api.wait_for(lambda: [c for c in api.calls if c.method == "answerCallbackQuery"])
    invoice = await bot.buy(user, photo)
    assert "as WAV" in invoice.params["description"]
    assert await bot.pay_invoice(user, invoice, charge_id="stars-big")

    told = await api.wait_for_text(user.id, "would be over the 0.3 MB upload limit", timeout=90)
    # A steady tone compresses well: FLAC fits, so the stems stay lossless.
    assert "The WAV files" in told and "sending FLAC instead" in told
    stems = await api.wait_for_call(user.id, "sendDocument", count=2)
    for call in stems:
        name, data = call.files["document"]
        assert name.endswith(".flac") and data[:4] == b"fLaC" and len(data) <= SMALL_UPLOAD_LIMIT
    assert await api.wait_for_text(user.id, "Here are your stems (FLAC)")
    order = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)[0]
    assert order.output_format == "wav"  # the choice travels with the order
    full = bot.queue.get(order.fulfil_job_id)
    assert full.output_format == "wav"  # separated as asked; only the upload stepped down
    assert not [c for c in api.calls if str(c.result).startswith("<error")]
