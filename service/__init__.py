"""What every part of the service shares, the engine included: it imports nothing of ours.

* :mod:`service.limits` — the service's limits (largest upload, longest song, the preview's
  length, the output formats offered): product decisions the engine enforces but does not own;
* :mod:`service.envconfig` — the one way every package reads its settings (a typed, frozen
  dataclass per owner, all bad values named in one start-up error);
* :mod:`service.pseudonyms` — the keyed HMAC under which a person's abuse limits outlive
  ``/forget`` (shared by ``jobs`` and ``people``).

Invariant: modules here import only the standard library (``tests/test_layout.py`` holds it), so
any part may import them without pulling another part in. Facts of the separation itself (the
sample rate, the training losses) stay in ``engine.constants``.
"""
