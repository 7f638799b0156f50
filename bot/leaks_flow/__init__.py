"""Leak flagging in the running bot: the engine of :mod:`bot.leaks` wired to events,
the store, policies and moderators. See :mod:`bot.leaks_flow.watch`."""

from bot.leaks_flow.watch import LeakWatch

__all__ = ["LeakWatch"]
