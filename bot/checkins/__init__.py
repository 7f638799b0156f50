"""Private check-ins: a member talks with the bot about how they are doing.

The conversation lives in :mod:`bot.checkins.flow`, its words in :mod:`bot.checkins.words`,
answers are sealed by :mod:`bot.checkins.sealing`, and the member's data rights and the
moderators' aggregates are in :mod:`bot.checkins.rights` and :mod:`bot.checkins.commands`.
"""

from bot.checkins.flow import CHECKIN_CHOICE, Checkins

__all__ = ["CHECKIN_CHOICE", "Checkins"]
