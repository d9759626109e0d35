"""Engine-wide constants: facts of the separation itself, named here once.

The service's limits (largest file, longest song, preview length, output formats) are product
decisions and live in :mod:`service.limits`.
"""

SAMPLE_RATE = 44_100  # every stem, every model, every file we write
CHANNELS = 2  # stereo in, stereo out

PREVIEW_FADE_S = 0.5

MP3_BITRATE = "320k"

# A song whose peak is below this (about -60 dBFS) counts as silence.
SILENCE_PEAK = 1e-3

# Training objectives (engine.train.masked_loss): the paper's L1 on masked magnitudes, that plus an
# L1 on the output waveforms, or the L1 on complex spectrograms with the mixture's phase. Here so
# that the CLI can offer them without importing torch.
LOSSES = ("magnitude", "magnitude+wave", "phase")

# The validation remixes (of about 3 s) a calibration, and each validation of a training run,
# scores a model on (engine.calibrate, engine.train). Here so that the CLI can name its default
# without importing torch.
CALIBRATION_EXAMPLES = 128
