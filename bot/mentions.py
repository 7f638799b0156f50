"""Members named in the bot's answers, rendered by each platform.

The core knows members by id only, and a raw id (a Discord snowflake) tells a moderator
nothing. So an answer that lists members carries a token per member, and the adapter that
sends it renders the token as the platform shows people best: a Discord mention (which in
an ephemeral reply or with mentions disabled pings nobody), a Matrix display name, the
console's user name. No display name ever needs to be stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(r"<member:([^<>\s]+)>")


def member_token(member_id: str) -> str:
    return f"<member:{member_id}>"


def render(text: str, name_of: Callable[[str], str]) -> str:
    """``text`` with every member token replaced by ``name_of(member_id)``."""
    return _TOKEN.sub(lambda match: name_of(match.group(1)), text)
