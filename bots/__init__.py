"""Chat frontends of the vocal remover: the platform-neutral flow (``bots.core``), its texts
(the catalogue ``texts``) and one package per platform (``bots.telegram``, ``bots.discord``),
each started by the one start-up path, ``bots.run``."""
