"""Operations: what an admin's monitoring talks to, outside the platform-free core.

``metrics`` implements the core's :class:`bot.metrics.Metrics` with prometheus_client;
``status_server`` serves ``/healthz`` and ``/metrics`` with aiohttp (which the core may not
import). ``bot/cli.py`` wires both in when the config's ``status`` section is enabled.
"""
