"""The Discord bot: discord.py 2.x on the platform-neutral core (``python -m bots.discord``)."""
