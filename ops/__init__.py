"""Operations: what an admin's monitoring talks to, outside the platform-free core.

``metrics`` implements the core's :class:`bot.metrics.Metrics` (prometheus_client writes
the text at a scrape); ``status_server`` serves ``/healthz`` and ``/metrics`` on asyncio's
server. ``bot/cli.py`` wires both in when the config's ``status`` section is enabled.
"""
