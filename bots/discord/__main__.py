"""``python -m bots.discord``: run the Discord bot (configuration from the environment)."""

from bots.discord.app import DISCORD
from bots.run import main

main(DISCORD)
