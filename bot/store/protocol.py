"""The store as the core uses it: one protocol, two backends.

:class:`bot.store.sqlite.SqliteStore` (one file, the embedded default) and
:class:`bot.store.postgres.PostgresStore` (several processes on one deployment) implement it;
``tests/test_store_protocol.py`` checks that both have every method here with the same
signature. The core types against :class:`Store` and never names a backend; opening one is
:func:`bot.store.open_store`'s business. What each method promises is said on the shared
implementation (:class:`bot.store.sqlite.SqlStore` and its aggregate mixins such as
:class:`bot.store.alert_rows.AlertRows`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from bot.store.rows import (
    AgreementReport,
    AuditEntry,
    Checkin,
    CheckinSchedule,
    Escalation,
    IndexGroup,
    LeakFlag,
    MemberReport,
    NewFingerprint,
    OwedAlert,
    PendingReminder,
    RepeatAction,
    RoomState,
    RulesMessage,
    SealedAnswer,
    StoredFingerprint,
)


class Store(Protocol):
    """Every write commits before it returns: a crash right after a call never loses what
    the call recorded. No method takes or returns message text."""

    async def add_alert(
        self,
        key: str,
        platform: str,
        alert: bytes,
        member_key: bytes | None,
        at: datetime,
        lease_until: datetime,
    ) -> bool:
        ...

    async def alert_delivered(self, key: str, at: datetime) -> bool:
        ...

    async def alert_next_at(self, key: str, next_at: datetime, failed: bool) -> None:
        ...

    async def alert_row(self, key: str) -> OwedAlert | None:
        ...

    async def alert_given_up(self, key: str, at: datetime) -> None:
        ...

    async def owed_alerts(self, due_by: datetime | None = None) -> list[OwedAlert]:
        ...

    async def acquire_job_lease(
        self, name: str, holder: str, now: datetime, until: datetime
    ) -> int | None:
        ...

    async def job_lease_held(self, name: str, holder: str, epoch: int, now: datetime) -> bool:
        ...

    async def release_job_leases(self, holder: str, now: datetime) -> int:
        ...

    async def claim_room_reminder(
        self, platform: str, room_id: str, policy: str, due_by: datetime, at: datetime
    ) -> bool:
        ...

    async def claim_checkin_fire(
        self, platform: str, member_id: str, seen: datetime | None, fire: datetime | None
    ) -> bool:
        ...

    async def claim_reminder_resend(self, key: str, now: datetime, until: datetime) -> bool:
        ...

    async def claim_alert(self, key: str, now: datetime, until: datetime) -> bool:
        ...

    async def schema_version(self) -> int:
        ...

    async def erase_member_alerts(self, member_key: bytes) -> int:
        ...

    async def record_join(self, platform: str, room_id: str, member_id: str, at: datetime) -> None:
        ...

    async def purge_alerts(self, before: datetime) -> int:
        ...

    async def record_leave(self, platform: str, room_id: str, member_id: str, at: datetime) -> None:
        ...

    async def room_presence(self, platform: str, room_id: str) -> frozenset[str] | None:
        ...

    async def room_counted_at(self, platform: str, room_id: str) -> datetime | None:
        ...

    async def replace_room_presence(
        self, platform: str, room_id: str, member_ids: Iterable[str], at: datetime
    ) -> None:
        ...

    async def was_reminded(
        self, platform: str, room_id: str, member_id: str, policy: str, text_hash: str | None
    ) -> bool:
        ...

    async def add_reminder(
        self,
        key: str,
        platform: str,
        room_id: str,
        room_name: str | None,
        member_id: str,
        policy: str,
        text_hash: str,
        at: datetime,
    ) -> bool:
        ...

    async def renew_reminder(
        self,
        key: str,
        platform: str,
        room_id: str,
        member_id: str,
        policy: str,
        text_hash: str,
        at: datetime,
    ) -> bool:
        ...

    async def mark_reminder_delivered(self, key: str, channel: str, at: datetime) -> bool:
        ...

    async def pending_reminders(
        self,
        older_than: datetime | None = None,
        *,
        due_at: datetime | None = None,
        max_attempts: int | None = None,
    ) -> list[PendingReminder]:
        ...

    async def reminder_attempt_failed(self, key: str) -> int:
        ...

    async def retry_reminder_at(self, key: str, at: datetime) -> None:
        ...

    async def forget_pending_reminder(self, key: str) -> bool:
        ...

    async def has_left(self, platform: str, room_id: str, member_id: str) -> bool:
        ...

    async def reminder_by_key(self, key: str) -> PendingReminder | None:
        ...

    async def members_to_reask(
        self, policy: str, text_hash: str
    ) -> list[tuple[str, str, str | None, str]]:
        ...

    async def rooms_reminded(
        self, platform: str, member_id: str, policy: str
    ) -> list[tuple[str, str | None]]:
        ...

    async def policies_reminded(self, platform: str, member_id: str) -> list[str]:
        ...

    async def policies_awaiting_agreement(
        self, platform: str, member_id: str
    ) -> list[tuple[str, str]]:
        ...

    async def owed_reminders(self, platform: str, member_id: str) -> list[PendingReminder]:
        ...

    async def member_rooms_for_policy(
        self, platform: str, member_id: str, policy: str
    ) -> list[tuple[str, str | None]]:
        ...

    async def rules_message(self, platform: str, room_id: str, policy: str) -> RulesMessage | None:
        ...

    async def rules_messages(self, policy: str | None = None) -> list[RulesMessage]:
        ...

    async def save_rules_message(self, message: RulesMessage, at: datetime) -> None:
        ...

    async def rules_message_posted(self, post_key: str, message_id: str, at: datetime) -> bool:
        ...

    async def rules_message_out(self, post_key: str, at: datetime) -> None:
        ...

    async def forget_rules_message(
        self, platform: str, room_id: str, message_id: str
    ) -> RulesMessage | None:
        ...

    async def record_agreement(
        self, platform: str, member_id: str, policy: str, text_hash: str, at: datetime
    ) -> bool:
        ...

    async def has_agreed(
        self, platform: str, member_id: str, policy: str, text_hash: str | None
    ) -> bool:
        ...

    async def agreement_report(
        self, platform: str, room_id: str, policy: str, text_hash: str | None
    ) -> AgreementReport:
        ...

    async def room_member_ids(self, platform: str, room_id: str) -> list[str]:
        ...

    async def latest_agreements(self, platform: str, policy: str) -> dict[str, tuple[str, str]]:
        ...

    async def access_granted(
        self,
        platform: str,
        room_id: str,
        room_name: str | None,
        member_id: str,
        policy: str,
        at: datetime,
    ) -> None:
        ...

    async def access_ended(self, platform: str, room_id: str, member_id: str, at: datetime) -> bool:
        ...

    async def has_access(self, platform: str, room_id: str, member_id: str) -> bool:
        ...

    async def access_rows(
        self, policy: str, platform: str | None = None, room_id: str | None = None
    ) -> list[tuple[str, str, str | None, str, str, str | None]]:
        ...

    async def room_state(
        self, platform: str, room_id: str, policy: str, room_name: str | None, at: datetime
    ) -> RoomState:
        ...

    async def count_room_message(self, platform: str, room_id: str, policy: str) -> int:
        ...

    async def reset_room_reminder(
        self, platform: str, room_id: str, policy: str, at: datetime
    ) -> None:
        ...

    async def room_states(self) -> list[RoomState]:
        ...

    async def add_fingerprints(self, rows: Iterable[StoredFingerprint]) -> int:
        ...

    async def fingerprints(self, scheme: str | None = None) -> list[StoredFingerprint]:
        ...

    async def matching_fingerprints(
        self, scheme: str, room_key: str, values: Iterable[int], not_author: bytes | None
    ) -> set[int]:
        ...

    async def fingerprint_position(self) -> int:
        ...

    async def count_fingerprints(self) -> int:
        ...

    async def fingerprints_after(self, position: int, limit: int) -> list[NewFingerprint]:
        ...

    async def fingerprints_at(self, positions: Sequence[int]) -> list[NewFingerprint]:
        ...

    async def near_matches(
        self, scheme: str, room_key: str, values: Iterable[int], not_author: bytes | None
    ) -> list[list[int]]:
        ...

    async def delete_message_fingerprints(self, message: bytes) -> int:
        ...

    async def delete_author_fingerprints(self, author: bytes) -> int:
        ...

    async def count_author_fingerprints(self, author: bytes) -> int:
        ...

    async def purge_fingerprints(self, cutoffs: dict[str, int], default_cutoff: int) -> int:
        ...

    async def stoplist(self) -> set[int]:
        ...

    async def add_to_stoplist(self, values: Iterable[int], at: datetime) -> int:
        ...

    async def save_flag(
        self,
        flag: LeakFlag,
        fingerprints: Iterable[int] = (),
        copy_state: str | None = None,
    ) -> tuple[LeakFlag, bool]:
        ...

    async def add_flag_part(self, flag_id: int, message_id: str, flagged: str) -> None:
        ...

    async def flag(self, flag_id: int) -> LeakFlag | None:
        ...

    async def flags_for_copy(self, platform: str, room_id: str, message_id: str) -> list[LeakFlag]:
        ...

    async def open_flags(self, limit: int = 20) -> list[LeakFlag]:
        ...

    async def set_copy_state(
        self, platform: str, room_id: str, message_id: str, state: str, at: datetime
    ) -> int:
        ...

    async def close_flag(self, flag_id: int, status: str, by: str, at: datetime) -> bool:
        ...

    async def flag_fingerprints(self, flag_id: int) -> set[int]:
        ...

    async def record_confirmed_flag(
        self, author: bytes, policy: str, flag_id: int, at: datetime
    ) -> None:
        ...

    async def confirmed_flags(
        self, author: bytes, policies: Sequence[str], since: datetime | None = None
    ) -> list[tuple[int, str, datetime]]:
        ...

    async def delete_author_confirmed_flags(self, author: bytes) -> int:
        ...

    async def add_repeat_action(self, action: RepeatAction) -> RepeatAction:
        ...

    async def repeat_action(self, action_id: int) -> RepeatAction | None:
        ...

    async def member_repeat_actions(self, platform: str, member_id: str) -> list[RepeatAction]:
        ...

    async def repeat_actions_due(self, now: datetime) -> list[RepeatAction]:
        ...

    async def set_repeat_action(
        self, action_id: int, status: str, before: str, at: datetime, until: datetime | None = None
    ) -> bool:
        ...

    async def hold_copy(self, flag_id: int, sealed: bytes, expires_at: datetime) -> None:
        ...

    async def take_held_copy(self, flag_id: int, now: datetime) -> bytes | None:
        ...

    async def drop_held_copy(self, flag_id: int) -> bool:
        ...

    async def purge_held_copies(self, now: datetime) -> int:
        ...

    async def held_copy_ids(self) -> list[int]:
        ...

    async def claim_reply(self, platform: str, message_id: str, at: datetime) -> bool:
        ...

    async def forget_replies(self, before: datetime) -> int:
        ...

    async def add_bot_thread(self, platform: str, thread_id: str, at: datetime) -> None:
        ...

    async def bot_threads(self, platform: str) -> set[str]:
        ...

    async def forget_bot_thread(self, platform: str, thread_id: str) -> None:
        ...

    async def checkin_consent(self, platform: str, member_id: str, policy: str) -> str | None:
        ...

    async def ask_checkin_consent(
        self, platform: str, member_id: str, policy: str, at: datetime
    ) -> None:
        ...

    async def checkin_consent_asked(self, platform: str, member_id: str) -> str | None:
        ...

    async def forget_checkin_consent_asked(self, platform: str, member_id: str) -> None:
        ...

    async def record_checkin_consent(
        self, platform: str, member_id: str, policy: str, intro_hash: str, at: datetime
    ) -> None:
        ...

    async def start_checkin(
        self, platform: str, member_id: str, policy: str, at: datetime
    ) -> Checkin:
        ...

    async def checkin(self, checkin_id: int) -> Checkin | None:
        ...

    async def open_checkin(self, platform: str, member_id: str) -> Checkin | None:
        ...

    async def open_checkins(self) -> list[Checkin]:
        ...

    async def member_checkins(self, platform: str, member_id: str, limit: int) -> list[Checkin]:
        ...

    async def checkins_of_policies(self, policies: Sequence[str]) -> list[Checkin]:
        ...

    async def save_answer(
        self,
        checkin_id: int,
        question_id: str,
        sealed: bytes | None,
        at: datetime,
        next_step: int,
    ) -> None:
        ...

    async def update_checkin(
        self,
        checkin_id: int,
        at: datetime,
        *,
        awaiting: str | None = None,
        crisis_shown: bool | None = None,
        asked_contact: bool | None = None,
    ) -> None:
        ...

    async def end_checkin(self, checkin_id: int, status: str, at: datetime) -> bool:
        ...

    async def checkin_answers(self, checkin_id: int) -> list[SealedAnswer]:
        ...

    async def purge_checkins(self, policy: str, before: datetime) -> int:
        ...

    async def save_checkin_schedule(self, schedule: CheckinSchedule) -> None:
        ...

    async def checkin_schedule(self, platform: str, member_id: str) -> CheckinSchedule | None:
        ...

    async def checkin_schedules(self) -> list[CheckinSchedule]:
        ...

    async def update_checkin_schedule(
        self,
        platform: str,
        member_id: str,
        *,
        paused: bool | None = None,
        snoozed_until: datetime | None = None,
        clear_snooze: bool = False,
        last_fired: datetime | None = None,
    ) -> bool:
        ...

    async def delete_checkin_schedule(self, platform: str, member_id: str) -> bool:
        ...

    async def add_escalation(
        self,
        checkin_id: int | None,
        platform: str,
        member_id: str,
        policy: str,
        reason: str,
        shared: bool,
        at: datetime,
    ) -> int:
        ...

    async def escalation(self, escalation_id: int) -> Escalation | None:
        ...

    async def member_escalations(self, platform: str, member_id: str) -> list[Escalation]:
        ...

    async def escalations_of_policies(self, policies: Sequence[str]) -> list[Escalation]:
        ...

    async def claim_escalation(self, escalation_id: int, by: str, at: datetime) -> bool:
        ...

    async def add_member_report(
        self,
        platform: str,
        policy: str,
        member_key: bytes,
        named: bool,
        at: datetime,
        seal: Callable[[int], bytes],
        room_id: str | None = None,
    ) -> int:
        ...

    async def member_report(self, report_id: int) -> MemberReport | None:
        ...

    async def member_reports_of(self, member_key: bytes) -> list[MemberReport]:
        ...

    async def count_member_reports_since(self, member_key: bytes, since: datetime) -> int:
        ...

    async def oldest_member_report_since(
        self, member_key: bytes, since: datetime
    ) -> datetime | None:
        ...

    async def member_report_answered(self, report_id: int, at: datetime) -> None:
        ...

    async def erase_member_reports(self, member_key: bytes) -> int:
        ...

    async def member_records(self, platform: str, member_id: str) -> dict[str, list[dict]]:  # type: ignore[type-arg]
        ...

    async def erase_member(self, platform: str, member_id: str) -> dict[str, int]:
        ...

    async def audit(
        self,
        platform: str,
        actor_id: str,
        action: str,
        detail: str,
        at: datetime,
        policy: str | None = None,
    ) -> None:
        ...

    async def audit_entries(
        self, limit: int = 50, policies: Iterable[str] | None = None
    ) -> list[AuditEntry]:
        ...

    async def close(self) -> None:
        ...

    def index_groups(
        self, scheme: str, rows: int = 20_000
    ) -> AsyncIterator[list[IndexGroup]]:
        ...

    async def table_names(self) -> list[str]:
        ...
