from bots.discord.app import main

main()
