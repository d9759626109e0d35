"""Test helpers only the tests use (the Stripe stub). The servers and processes the benchmarks
start too — redis-server, workers, the fake Bot API — live in the top-level ``testbed/``.

Fixtures that wrap them live in the root ``tests/conftest.py``; the folders' own conftests only
add what is theirs (settings for their deployment, the fake Bot API, ...).
"""
