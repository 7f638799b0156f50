"""Complete member counts of a room, compared with the last one stored.

A platform adapter sees joins and leaves live, but not while the bot was stopped or between
two gateway sessions, and some platforms hand out their member list only in pieces and some
time after a (re)connect. So an adapter reports ``RoomMembers`` only once it holds a room's
whole list; this module compares it with the stored count and hands the difference, and
only the difference, to the ordinary join and leave handlers. Members who were simply there
all along are not reminded again, have no posting held and do not "leave"; someone who
gained sight of the room meanwhile (a role granted while the bot was down) is reminded once.
The first count of a room is stored as it is: who was there before the bot watched is not
news. Only ids are stored.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot import reminding
from bot.actions import Action
from bot.events import Member, MemberJoined, MemberLeft, RoomMembers

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger("confidant.core")


async def on_room_members(core: Core, event: RoomMembers) -> list[Action]:
    room = event.room
    if core.policy_for(room) is None:
        return []
    present = {m.id: m for m in event.members if not m.is_bot}
    before = await core.store.room_presence(room.platform, room.id)
    await core.store.replace_room_presence(room.platform, room.id, sorted(present), event.at)
    if before is None:
        log.info("room %s counted for the first time: %d members", room.id, len(present))
        return []
    joined = [present[i] for i in sorted(present.keys() - before)]
    left = sorted(before - present.keys())
    if joined or left:
        log.info(
            "room %s: %d joined and %d left while not listening", room.id, len(joined), len(left)
        )
    actions: list[Action] = []
    for member in joined:
        # reminded together: the others' private reminders queue with theirs (bot/bursts.py)
        together = MemberJoined(room, member, event.at, private_backlog=len(joined) - 1)
        actions += await reminding.on_join(core, together)
    for member_id in left:
        member = Member(room.platform, member_id)
        actions += await reminding.on_leave(core, MemberLeft(room, member, event.at))
    return actions
