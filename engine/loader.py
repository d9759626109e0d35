"""Remix batches made by several worker processes, for a GPU that one remixing thread would starve.

``engine.train._batches`` remixes on one background thread: on the 2-core CPU the network is the
bottleneck and that is enough. On a GPU machine (16 cores, a step in milliseconds) the remixes —
resampling for speed changes, reverb convolutions, pedalboard effects — are the bottleneck, and
Python threads would share one interpreter lock. Here ``workers`` processes each run their own
``Remixer`` on the pools the parent already holds in memory (forked, so nothing is copied or
pickled; the audio arrays are only read, so their pages stay shared), and hand batches back
through shared memory (torch's DataLoader), pinned for a fast copy to the GPU.

Invariants:
- Each worker draws from its own generator, seeded by ``(seed, worker id)``: workers never repeat
  each other's examples, and the same seed and worker count give the same batches (their order
  across workers can vary with timing).
- Only the CPU is used in the workers (no CUDA there), so forking after the parent set up CUDA
  is safe; ``fork`` is asked for explicitly, as the default start method may change.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from engine.data import Remixer

PREFETCH_PER_WORKER = 2

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class _RemixStream(IterableDataset[Batch]):
    """An endless stream of ``(mixture, targets, band_hz)`` batches, as ``_batches`` makes them."""

    def __init__(self, remixer: Remixer, batch: int, length: int, seed: int) -> None:
        self.remixer, self.batch, self.length, self.seed = remixer, batch, length, seed

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            mix, vocals, acc, band = self.remixer.batch(self.batch, self.length, rng)
            yield (
                torch.from_numpy(mix),
                torch.from_numpy(np.stack([vocals, acc], axis=1)),
                torch.from_numpy(band),
            )


class RemixWorkers:
    """``get()`` returns the next batch, like the queue ``engine.train._batches`` returns;
    ``close()`` ends the worker processes."""

    def __init__(
        self, remixer: Remixer, batch: int, length: int, seed: int, workers: int, pin_memory: bool = False
    ) -> None:
        if workers < 1:
            raise ValueError("RemixWorkers needs at least one worker process")
        self._loader = DataLoader(
            _RemixStream(remixer, batch, length, seed),
            batch_size=None,
            num_workers=workers,
            prefetch_factor=PREFETCH_PER_WORKER,
            pin_memory=pin_memory,
            multiprocessing_context="fork",
        )
        self._iter: Iterator[Batch] | None = iter(self._loader)

    def get(self) -> Batch:
        if self._iter is None:
            raise RuntimeError("RemixWorkers is closed")
        return next(self._iter)

    def close(self) -> None:
        """Stop the workers now rather than when the iterator is garbage-collected (export and
        calibration run in the same process after training)."""
        it, self._iter = self._iter, None
        shutdown = getattr(it, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
