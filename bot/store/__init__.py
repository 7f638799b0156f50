"""All of Confidant's SQL lives in this package (see :mod:`bot.store.sqlite`)."""

from bot.store.sqlite import AgreementReport, PendingReminder, RoomState, Store

__all__ = ["AgreementReport", "PendingReminder", "RoomState", "Store"]
