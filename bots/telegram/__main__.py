"""``python -m bots.telegram``: run the Telegram bot (configuration from the environment)."""

from bots.telegram.app import main

main()
