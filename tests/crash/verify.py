"""The invariants, checked from what members and moderators received once the bot is stopped.

- Reminders are counted per (member, room, policy text) in what each member's client shows:
  the private reminder ("Welcome to ...") in their private chats, plus any in-room reminder
  that mentions them, plus (Discord) one carried by an answer only they see, when a DM could
  not go out just now. Exactly one per join.
- Acknowledged check-in answers (see ``conversations``) must be in the store: read with the
  bot's own Store and opened with the key file, as ``/mydata`` would.
- A quote of a circle post in a lobby may give at most one alert per alert room; alerts are
  matched to copies by the copy's id, which every alert names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.checkins.sealing import Sealer
from bot.keys import load_or_create_key
from bot.store import Store, open_store
from tests.crash.conversations import Answer, answers_of
from tests.crash.discord_side import DiscordSide
from tests.crash.driver import Played
from tests.crash.matrix_side import MatrixSide, Notice, member_sync

CIRCLE_REMINDER = "What is shared in the circle stays in the circle."
LOBBY_REMINDER = "The lobby is an open room."
ALERT = "Possible leak"


@dataclass
class Report:
    seed: int
    events: int
    kills: int
    joins: int
    reminders: int
    duplicate_reminders: int
    never_reminded: int
    acknowledged_answers: int
    lost_answers: int
    flags: int
    duplicate_flags: int
    elapsed_s: float
    details: dict[str, Any] = field(default_factory=dict)

    def violations(self) -> list[str]:
        found = []
        if self.duplicate_reminders:
            found.append(f"{self.duplicate_reminders} duplicate reminder(s)")
        if self.never_reminded:
            found.append(f"{self.never_reminded} join(s) never reminded")
        if self.lost_answers:
            found.append(f"{self.lost_answers} acknowledged answer(s) lost")
        if self.duplicate_flags:
            found.append(f"{self.duplicate_flags} leak(s) alerted more than once")
        return found

    def headline(self) -> dict[str, Any]:
        """The figures the issue asks for, in its order, for the last line of output."""
        return {k: v for k, v in asdict(self).items() if k != "details"}


@dataclass(frozen=True, slots=True)
class ReminderCount:
    platform: str
    member: str
    room: str
    count: int


def count_reminders(private: Iterable[str], mentions: Iterable[str], text: str) -> int:
    """Private reminders start with "Welcome to"; others (an in-room fallback or delivery by
    room, mentioning the member; an answer only the member sees) carry the text."""
    return sum(1 for body in private if body.startswith("Welcome to") and text in body) + sum(
        1 for body in mentions if text in body
    )


async def matrix_reminders(
    matrix: MatrixSide, joined: list[str], regulars: list[str]
) -> tuple[list[ReminderCount], dict[str, Any]]:
    """Each member's own view of their private chats, and the moderator's of the rooms."""
    assert matrix.mod is not None
    await member_sync(matrix.mod)
    circle = await matrix.history(matrix.mod, matrix.circle)
    lobby = await matrix.history(matrix.mod, matrix.lobby)
    views = await matrix.final_views(joined)
    counts = []
    for key in joined:
        user = matrix.members[key].user_id
        private = [n.body for n in views[key]]
        in_circle = [n.body for n in circle if user in n.mentions]
        counts.append(
            ReminderCount(
                "matrix", key, "circle", count_reminders(private, in_circle, CIRCLE_REMINDER)
            )
        )
        if key in regulars:
            in_lobby = [n.body for n in lobby if user in n.mentions]
            counts.append(
                ReminderCount("matrix", key, "lobby", count_reminders([], in_lobby, LOBBY_REMINDER))
            )
    private_chats = {
        key: len({n.room_id for n in views[key] if CIRCLE_REMINDER in n.body}) for key in joined
    }
    twice = {c.member for c in counts if c.count > 1}
    extra = {
        # where each doubly reminded member saw their reminders: which chats, or the room
        "matrix_duplicate_reminders_in": {
            key: [f"{n.room_id} {n.event_id}" for n in views[key] if CIRCLE_REMINDER in n.body]
            + [
                f"mention in {n.room_id}"
                for n in circle
                if matrix.members[key].user_id in n.mentions
            ]
            for key in sorted(twice)
        },
        "matrix_undecryptable": sum(matrix.members[k].undecryptable for k in joined),
        "matrix_members_with_two_reminder_chats": sum(1 for v in private_chats.values() if v > 1),
    }
    return counts, extra


def discord_reminders(discord: DiscordSide, joined: list[str]) -> list[ReminderCount]:
    return [
        ReminderCount(
            "discord",
            key,
            "circle",
            count_reminders(
                discord.dm_messages(key),
                [*discord.circle_mentions(key), *discord.private_answers(key)],
                CIRCLE_REMINDER,
            ),
        )
        for key in joined
    ]


async def stored_answers(
    store: Store, sealer: Sealer, platform: str, member_id: str
) -> Counter[tuple[str, str]]:
    """Every answer the store holds for a member, opened: (question id, value)."""
    found: Counter[tuple[str, str]] = Counter()
    for checkin in await store.member_checkins(platform, member_id, 100_000):
        for row in await store.checkin_answers(checkin.id):
            if row.sealed is not None:
                value = sealer.open(checkin.id, row.question_id, row.sealed)
                found[(row.question_id, str(value).strip())] += 1
    return found


async def lost_answers(
    answers: list[Answer], member_ids: dict[str, str], database: Path, key_file: Path
) -> list[Answer]:
    store = await open_store(database, datetime.now(UTC))
    try:
        sealer = Sealer(load_or_create_key(key_file))
        lost: list[Answer] = []
        by_member: dict[str, list[Answer]] = {}
        for answer in answers:
            if answer.acknowledged:
                by_member.setdefault(answer.member, []).append(answer)
        for member, acknowledged in by_member.items():
            platform = acknowledged[0].platform
            held = await stored_answers(store, sealer, platform, member_ids[member])
            for answer in acknowledged:
                key = (answer.question_id, answer.value.strip())
                if held[key] > 0:
                    held[key] -= 1
                else:
                    lost.append(answer)
        return lost
    finally:
        await store.close()


async def pending_reminders(database: Path) -> int:
    """Reminders the store recorded but never saw delivered (read with the bot stopped)."""
    store = await open_store(database, datetime.now(UTC))
    try:
        return len(await store.pending_reminders())
    finally:
        await store.close()


@dataclass(frozen=True, slots=True)
class FlagCount:
    copies: int
    flagged: int
    duplicated: int
    alerts: int
    unmatched_alerts: int
    stored_flags: int
    stored_duplicates: int
    stored_without_alert: int
    unflagged_near_a_kill: int  # not alerted; the copy or its source came near a kill
    unflagged: tuple[str, ...] = ()  # "step <- source step" of each quote not alerted


async def count_flags(
    played: Played,
    matrix_alerts: list[Notice],
    discord_alerts: list[str],
    rooms: dict[str, str],
    database: Path,
) -> FlagCount:
    matrix_bodies = [n.body for n in matrix_alerts if ALERT in n.body]
    discord_bodies = [c for c in discord_alerts if ALERT in c]
    copies = [c for c in played.copies if c.copy_id is not None]
    flagged = duplicated = stored = stored_dup = without_alert = near_kill = 0
    matched: set[int] = set()
    missed: list[str] = []
    store = await open_store(database, datetime.now(UTC))
    try:
        for copy in copies:
            assert copy.copy_id is not None
            in_matrix = [i for i, b in enumerate(matrix_bodies) if copy.copy_id in b]
            in_discord = [i for i, b in enumerate(discord_bodies) if copy.copy_id in b]
            matched.update(in_matrix)
            matched.update(len(matrix_bodies) + i for i in in_discord)
            flagged += bool(in_matrix or in_discord)
            near = played.near_a_kill(copy.step) or played.near_a_kill(copy.source)
            near_kill += not (in_matrix or in_discord) and near
            if not (in_matrix or in_discord):
                missed.append(f"{copy.platform} {copy.step} <- {copy.source}")
            duplicated += len(in_matrix) > 1 or len(in_discord) > 1
            rows = await store.flags_for_copy(copy.platform, rooms[copy.platform], copy.copy_id)
            stored += bool(rows)
            stored_dup += len(rows) > 1
            without_alert += bool(rows) and not (in_matrix and in_discord)
    finally:
        await store.close()
    alerts = len(matrix_bodies) + len(discord_bodies)
    return FlagCount(
        len(copies),
        flagged,
        duplicated,
        alerts,
        alerts - len(matched),
        stored,
        stored_dup,
        without_alert,
        near_kill,
        tuple(missed),
    )


def acknowledged(played: Played, prompts_of: dict[str, list[str]]) -> list[Answer]:
    found: list[Answer] = []
    for member, conversations in played.conversations.items():
        found += answers_of(conversations, prompts_of[member])
    return found
