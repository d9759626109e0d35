"""The waveform picture holds no words: the same-song cache shares it among people who read
different languages, so its caption (in the catalogue) names its rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.text import Text

from engine.constants import SAMPLE_RATE
from engine.predict import Stems
from engine.waveform import draw_waveforms, render_waveforms
from texts import chat


def _song(seconds: float = 3.0) -> tuple[np.ndarray, Stems]:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    vocals = np.stack([0.3 * np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32)
    music = np.stack([0.3 * np.sin(2 * np.pi * 110 * t)] * 2).astype(np.float32)
    return vocals + music, Stems(vocals, music)


def test_the_picture_has_no_text_at_all() -> None:
    mixture, stems = _song()
    fig = draw_waveforms(mixture, stems)
    drawn = [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert drawn == []
    assert len(fig.axes) == 3  # original, vocals, instrumental, top to bottom


def test_the_png_is_written(tmp_path: Path) -> None:
    mixture, stems = _song()
    path = render_waveforms(mixture, stems, tmp_path / "w.png")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_the_caption_names_the_rows() -> None:
    caption = chat.preview_caption(61.0, 30.0, "50 ⭐", card=False)
    assert "Top: the original, middle: vocals, bottom: instrumental" in caption
    assert caption.startswith("Preview: 30 s from 1:01, where the vocals come in.")
