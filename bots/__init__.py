"""Chat frontends of the vocal remover: the platform-neutral flow (``bots.core``), its texts
(``bots.messages``) and one package per platform (``bots.telegram``; Discord comes later)."""
