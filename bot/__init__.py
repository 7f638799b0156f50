"""Confidant's platform-agnostic core.

Nothing under ``bot`` may import a chat platform library: adapters translate platform
events into :mod:`bot.events` and carry out :mod:`bot.actions`, so the rules that keep
rooms confidential are written (and tested) once for every platform.
"""
