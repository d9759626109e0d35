"""Chat frontends of the vocal remover: the platform-neutral flow (``bots.core``), its texts
(the catalogue ``texts``) and one package per platform (``bots.telegram``; Discord comes later)."""
