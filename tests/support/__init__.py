"""Test helpers shared by the test folders: real servers and processes the suites start.

Fixtures that wrap them live in the root ``tests/conftest.py``; the folders' own conftests only
add what is theirs (settings for their deployment, the fake Bot API, ...).
"""
