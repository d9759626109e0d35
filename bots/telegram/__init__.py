"""The Telegram frontend: PTB handlers that call the platform-neutral flow in ``bots.core``."""
