"""The service's limits: what the product accepts and offers, named once.

These are product decisions, not facts of the separation: the engine enforces them (``engine.audio``
refuses a file over ``MAX_FILE_BYTES`` or a song over ``MAX_DURATION_S``, and writes only
``OUTPUT_FORMATS``), the pipeline and the bots state and check them, and the deployment may
override them from the environment (``jobs.Settings``: ``MAX_DURATION_S``, ``PREVIEW_LENGTH_S``,
``PREVIEW_FORMAT``). So they live beneath every part, in ``service``, where the bots can read them
without importing the engine.

What stays in ``engine.constants``, and why: ``SAMPLE_RATE`` and ``CHANNELS`` (what every model is
trained and every stem written at), ``SILENCE_PEAK`` (when the signal counts as silence),
``PREVIEW_FADE_S`` and ``MP3_BITRATE`` (how the encoder cuts and codes audio) and ``LOSSES`` (the
training objectives): facts of the engine that no part of the service chooses.
"""

MAX_DURATION_S = 20 * 60  # default limit on a song's length
MAX_FILE_BYTES = 200 * 1024 * 1024  # never decode anything larger than this

PREVIEW_LENGTH_S = 30.0

OUTPUT_FORMATS = ("wav", "flac", "mp3")
DEFAULT_OUTPUT_FORMAT = "mp3"  # previews (PREVIEW_FORMAT may change it), full jobs, bot settings
