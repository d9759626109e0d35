"""Engine-wide constants. Limits are named here once; the service overrides them from the env."""

SAMPLE_RATE = 44_100  # every stem, every model, every file we write
CHANNELS = 2  # stereo in, stereo out

MAX_DURATION_S = 20 * 60  # default limit on a song's length
MAX_FILE_BYTES = 200 * 1024 * 1024  # never decode anything larger than this

PREVIEW_LENGTH_S = 30.0
PREVIEW_FADE_S = 0.5

MP3_BITRATE = "320k"
OUTPUT_FORMATS = ("wav", "flac", "mp3")
DEFAULT_OUTPUT_FORMAT = "mp3"  # previews (PREVIEW_FORMAT may change it), full jobs, bot settings

# A song whose peak is below this (about -60 dBFS) counts as silence.
SILENCE_PEAK = 1e-3

# Training objectives (engine.train.masked_loss): the paper's L1 on masked magnitudes, that plus an
# L1 on the output waveforms, or the L1 on complex spectrograms with the mixture's phase. Here so
# that the CLI can offer them without importing torch.
LOSSES = ("magnitude", "magnitude+wave", "phase")
