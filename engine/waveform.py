"""The waveform picture sent with a preview: original, vocals and instrumental, one above the other.

Drawn from a min/max envelope per pixel column instead of every sample, so a 20-minute song renders
as fast as a 30-second one and the PNG stays small enough for a chat message.

Invariant: the picture holds no words and no figures (no labels, titles or tick numbers): the
same-song cache shares one picture among people who read different languages, so what its rows
are is said by the caption, in the text catalogue (``texts.chat.preview_caption``); the rows are
told apart by their order and colour.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen on servers; must precede pyplot
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from engine.constants import SAMPLE_RATE
from engine.predict import Stems

COLUMNS = 1200
# Top to bottom: the original, the vocals, the instrumental (the caption names them so).
ROW_COLORS = ("#555555", "#d6336c", "#1c7ed6")


def envelope(audio: np.ndarray, columns: int = COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    mono = np.asarray(audio, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=0)
    columns = max(1, min(columns, mono.shape[0]))
    usable = mono.shape[0] // columns * columns
    blocks = mono[:usable].reshape(columns, -1)
    return blocks.min(axis=1), blocks.max(axis=1)


def draw_waveforms(mixture: np.ndarray, stems: Stems) -> Figure:
    """The three waveforms on a shared time axis (a tick a second, unnumbered), with no text."""
    fig, axes = plt.subplots(3, 1, figsize=(10, 5.2), sharex=True, dpi=110)
    seconds = mixture.shape[-1] / SAMPLE_RATE
    for ax, audio, color in zip(axes, (mixture, stems.vocals, stems.instrumental), ROW_COLORS, strict=True):
        low, high = envelope(audio)
        t = np.linspace(0, seconds, low.shape[0])
        ax.fill_between(t, low, high, color=color, linewidth=0)
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        ax.tick_params(axis="x", labelbottom=False)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def render_waveforms(mixture: np.ndarray, stems: Stems, path: str | Path) -> Path:
    """Write the PNG of :func:`draw_waveforms`; return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = draw_waveforms(mixture, stems)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
