"""``python -m bots.telegram``: run the Telegram bot (configuration from the environment)."""

from bots.run import main
from bots.telegram.app import TELEGRAM

main(TELEGRAM)
