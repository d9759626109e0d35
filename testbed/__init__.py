"""The world a test or a benchmark runs the product in: real servers and processes it starts, and
fakes of the platforms that cannot run offline.

``redis_server`` (a real ``redis-server`` on a free loopback port), ``workers`` (real
``python worker.py`` processes and a tiny model for them) and ``fake_bot_api`` (a fake Telegram
Bot API server). ``tests/`` and ``bench/`` both import it; no room of the product does, and it
imports nothing of ``tests`` (``tests/test_layout.py`` holds both).
"""
