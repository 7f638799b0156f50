"""The store's rows as the core sees them, whichever database keeps them.

Plain frozen dataclasses with no driver types in them: the SQLite and the PostgreSQL store
both return these, so the core and its tests never depend on which backend is configured.
None of them holds message text: keyed hashes, ids, times and counts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from bot.store.alert_rows import OwedAlert


@dataclass(frozen=True, slots=True)
class PendingReminder:
    key: str
    platform: str
    room_id: str
    room_name: str | None
    member_id: str
    policy: str
    text_hash: str
    attempts: int = 0  # failed tries at reaching the member (read where it matters)


@dataclass(frozen=True, slots=True)
class AgreementReport:
    agreed: tuple[str, ...]
    not_agreed: tuple[str, ...]


class AuditEntry(NamedTuple):
    """One audit row; a tuple, so code that indexes it by position (``entry[3]`` is the
    action) reads the same fields as before the policy column was added."""

    at: str
    platform: str
    actor_id: str
    action: str
    detail: str
    policy: str | None


@dataclass(frozen=True, slots=True)
class RulesMessage:
    platform: str
    room_id: str
    policy: str
    room_name: str | None
    content_hash: str
    post_key: str
    message_id: str | None  # the post to edit; confirmed only once ``posted``
    posted: bool = False


@dataclass(frozen=True, slots=True)
class RoomState:
    platform: str
    room_id: str
    policy: str
    room_name: str | None
    messages_since: int
    last_reminded_at: datetime


@dataclass(frozen=True, slots=True)
class StoredFingerprint:
    """One fingerprint row: keyed hashes and where/when, never text."""

    fingerprint: int
    scheme: str
    room_key: str
    policy: str
    day: int
    author: bytes
    message: bytes
    joined_to: bytes | None = None
    """For words running from an earlier message into ``message``: that earlier message,
    whose delete or edit drops this row too."""


@dataclass(frozen=True, slots=True)
class LeakFlag:
    """A suspected copy of a confidential room's content (where and how, never what)."""

    id: int
    platform: str
    room_id: str
    room_name: str | None
    message_id: str
    source_platform: str
    source_room_id: str
    source_room_name: str | None
    policy: str
    signal: str
    matched: int
    whole_message: bool
    poster_id: str
    status: str
    copy_state: str
    created_at: datetime
    updated_at: datetime
    closed_by: str | None
    parts: tuple[str, ...] = ()
    """A quote posted over several messages: every part's message id, oldest first
    (``message_id`` among them: the part that raised the flag). Empty for one message."""


@dataclass(frozen=True, slots=True)
class RepeatAction:
    """A consequence for a repeat leaker: proposed (awaiting a moderator), done, restored."""

    id: int
    platform: str
    member_id: str
    policy: str
    kind: str  # "timeout" or "remove"
    flag_id: int
    status: str
    minutes: int | None
    until: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Checkin:
    """One check-in's progress; its answers are separate rows, sealed."""

    id: int
    platform: str
    member_id: str
    policy: str
    status: str
    step: int
    awaiting: str
    crisis_shown: bool
    asked_contact: bool
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class SealedAnswer:
    question_id: str
    skipped: bool
    sealed: bytes | None
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class CheckinSchedule:
    """A member's recurring check-in as stored: wall-clock ``local_time`` (HH:MM) in
    ``zone``; ``last_fired`` None until the first one was sent."""

    platform: str
    member_id: str
    policy: str
    days: frozenset[int]
    local_time: str
    zone: str
    paused: bool
    snoozed_until: datetime | None
    last_fired: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Escalation:
    id: int
    checkin_id: int | None
    platform: str
    member_id: str
    policy: str
    reason: str
    shared: bool
    created_at: datetime
    claimed_by: str | None


@dataclass(frozen=True, slots=True)
class MemberReport:
    """A member's report to moderators: no words, and the member only sealed and keyed."""

    id: int
    platform: str
    policy: str
    member_key: bytes
    member_sealed: bytes
    named: bool
    made_at: datetime
    answered_at: datetime | None
    answers: int
    room_id: str | None = None  # named reports only: where a private thread may reach them


IndexGroup = tuple[str, int, bytes, frozenset[int]]
"""Stored fingerprints as the in-memory index loads them: room key, day, author key, and
the fingerprint values stored with those three."""

NewFingerprint = tuple[int, int, str, str, int, bytes]
"""A stored fingerprint as other processes' indexes catch up on it: its position (the order
rows were written in: SQLite's rowid, PostgreSQL's identity), value, scheme, room key, day
and author key. No message hash: an index never needs it."""


__all__ = [
    "AgreementReport",
    "AuditEntry",
    "Checkin",
    "CheckinSchedule",
    "Escalation",
    "IndexGroup",
    "LeakFlag",
    "MemberReport",
    "NewFingerprint",
    "OwedAlert",
    "PendingReminder",
    "RepeatAction",
    "RoomState",
    "RulesMessage",
    "SealedAnswer",
    "StoredFingerprint",
]
