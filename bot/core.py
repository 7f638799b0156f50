"""The core: events in, actions out.

Handlers are plain async methods in explicit ``type -> handler`` tables. They read the
running policies and the store and return the actions to take; they never talk to a
platform, which is what lets one set of rules serve Discord, Matrix and the console alike.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot import texts
from bot.actions import (
    Action,
    AlertModerators,
    DeleteMessage,
    JoinRoom,
    LeaveRoom,
    PostToRoom,
    ReplyToInvoker,
    SendPrivate,
    SetPostingAllowed,
)
from bot.builtin_commands import AGREE, AGREEMENTS, HELP, POLICY_RELOAD, POLICY_SHOW, RULES
from bot.clock import Clock
from bot.commands import Permission, Registry, UsageError, bind
from bot.events import (
    AdapterStatus,
    BotPermissions,
    CommandInvoked,
    Event,
    InvitedToRoom,
    Member,
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    ModeratorGranted,
    PrivateMessageUnread,
    PrivateReply,
    Room,
)
from bot.policy import Policy
from bot.policy_holder import PolicyHolder, ReloadResult
from bot.ports import Capabilities
from bot.store import Store

log = logging.getLogger("confidant.core")

PENDING_RETRY_AFTER = timedelta(seconds=60)

CommandHandler = Callable[[CommandInvoked, dict[str, str | int | None]], Awaitable[list[Action]]]


@dataclass
class Core:
    policies: PolicyHolder
    store: Store
    clock: Clock
    registry: Registry
    capabilities: Mapping[str, Capabilities]
    _console_moderators: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._event_handlers: dict[type, Callable[[object], Awaitable[list[Action]]]] = {
            MemberJoined: self._on_join,  # type: ignore[dict-item]
            MemberLeft: self._on_leave,  # type: ignore[dict-item]
            MessagePosted: self._on_message,  # type: ignore[dict-item]
            MessageEdited: self._nothing,
            MessageDeleted: self._nothing,
            CommandInvoked: self._on_command,  # type: ignore[dict-item]
            PrivateReply: self._nothing,
            ModeratorGranted: self._on_moderator_granted,  # type: ignore[dict-item]
            InvitedToRoom: self._on_invite,  # type: ignore[dict-item]
            BotPermissions: self._on_permissions,  # type: ignore[dict-item]
            PrivateMessageUnread: self._on_unread,  # type: ignore[dict-item]
            AdapterStatus: self._on_adapter_status,  # type: ignore[dict-item]
        }
        self._command_handlers: dict[str, CommandHandler] = {
            RULES.name: self._cmd_rules,
            AGREE.name: self._cmd_agree,
            HELP.name: self._cmd_help,
            POLICY_SHOW.name: self._cmd_policy_show,
            POLICY_RELOAD.name: self._cmd_policy_reload,
            AGREEMENTS.name: self._cmd_agreements,
        }

    def add_command(self, name: str, handler: CommandHandler) -> None:
        """Later features attach handlers to commands they registered."""
        if self.registry.get(name) is None:
            raise ValueError(f"register the spec for {name!r} before its handler")
        self._command_handlers[name] = handler

    # -- entry points --------------------------------------------------------------------
    async def handle(self, event: Event) -> list[Action]:
        handler = self._event_handlers.get(type(event))
        if handler is None:
            log.warning("no handler for event type %s", type(event).__name__)
            return []
        return await handler(event)

    async def startup_actions(self) -> list[Action]:
        """What a (re)start owes: interrupted reminders, and re-asks for changed texts."""
        actions = await self._resend_pending()
        for policy in self.policies.current.policies:
            actions += await self._reask_changed(policy)
        return actions

    async def tick(self) -> list[Action]:
        """Called periodically by the runtime: time-based re-reminders."""
        now = self.clock.now()
        actions = await self._resend_pending(older_than=now - PENDING_RETRY_AFTER)
        for state in await self.store.room_states():
            policy = self.policies.current.by_name(state.policy)
            repeat = policy.reminder.repeat if policy else None
            if policy is None or repeat is None or repeat.every_days is None:
                continue
            if now - state.last_reminded_at >= timedelta(days=repeat.every_days):
                room = Room(state.platform, state.room_id, state.room_name)
                actions += await self._periodic_reminder(room, policy)
        return actions

    async def reload_policies(self) -> tuple[ReloadResult, list[Action]]:
        """Reload from disk; on failure alert moderators of the last good policies."""
        result = self.policies.reload()
        actions: list[Action] = []
        if not result.ok:
            actions += self._alerts_for_all(texts.policy_reload_failed(result.errors))
        elif result.changed:
            for policy in self.policies.current.policies:
                actions += await self._reask_changed(policy)
        return result, actions

    async def delivered(self, action: Action, channel: str) -> None:
        """The runtime reports a completed action; reminders leave the outbox here."""
        key = getattr(action, "idempotency_key", None)
        if key and key.startswith("rem-"):
            await self.store.mark_reminder_delivered(key.split("/")[0], channel, self.clock.now())

    # -- helpers ---------------------------------------------------------------------------
    def policy_for(self, room: Room) -> Policy | None:
        current = self.policies.current
        policy = current.for_room(room.platform, room.id, room.name, room.aliases)
        if policy is None and room.parent_id is not None:  # threads inherit their channel
            policy = current.for_room(room.platform, room.parent_id)
        return policy

    def is_moderator(self, member: Member, policy: Policy | None) -> bool:
        if (member.platform, member.id) in self._console_moderators:
            return True
        return self.policies.current.is_moderator(member.platform, member.id, policy)

    def _prefix(self, platform: str) -> str:
        caps = self.capabilities.get(platform)
        return caps.command_prefix if caps else "/"

    def _caps(self, platform: str) -> Capabilities:
        return self.capabilities.get(platform, Capabilities())

    def _text_hash_for_checks(self, policy: Policy) -> str | None:
        """With reask_on_change off, any earlier text counts as reminded/agreed."""
        return policy.reminder.text_hash if policy.reminder.reask_on_change else None

    def _alerts_for_all(self, text: str) -> list[Action]:
        seen: set[tuple[str, str]] = set()
        actions: list[Action] = []
        for policy in self.policies.current.policies:
            for ref in policy.alerts:
                target = (ref.platform, ref.id or ref.alias or ref.name or "")
                if target not in seen:
                    seen.add(target)
                    actions.append(AlertModerators(target[0], target[1], text))
        return actions

    # -- joins and reminders ----------------------------------------------------------------
    async def _on_join(self, event: MemberJoined) -> list[Action]:
        if event.member.is_bot:
            return []
        policy = self.policy_for(event.room)
        if policy is None:
            return []
        room, member = event.room, event.member
        await self.store.record_join(room.platform, room.id, member.id, event.at)
        await self.store.room_state(room.platform, room.id, policy.name, room.name, event.at)
        # The reminder goes first: it is what the member waits for. A post slipped in
        # before posting is restricted is still caught by the agreement gate.
        actions: list[Action] = []
        check_hash = self._text_hash_for_checks(policy)
        if not await self.store.was_reminded(
            room.platform, room.id, member.id, policy.name, check_hash
        ):
            actions += await self._remind(room, member, policy)
        must_agree = policy.reminder.require_agreement and not self.is_moderator(member, policy)
        if must_agree and self._caps(room.platform).posting_permission:
            agreed = await self.store.has_agreed(
                member.platform, member.id, policy.name, self._text_hash_for_checks(policy)
            )
            actions.append(SetPostingAllowed(room, member, agreed))
        return actions

    async def _remind(self, room: Room, member: Member, policy: Policy) -> list[Action]:
        """Record the reminder first (the outbox), then ask for it to be delivered."""
        text_hash = policy.reminder.text_hash
        key = reminder_key(room.platform, room.id, member.id, policy.name, text_hash)
        fresh = await self.store.add_reminder(
            key,
            room.platform,
            room.id,
            room.name,
            member.id,
            policy.name,
            text_hash,
            self.clock.now(),
        )
        if not fresh:
            return []
        return self._reminder_actions(room, member, policy, key)

    def _reminder_actions(
        self, room: Room, member: Member, policy: Policy, key: str
    ) -> list[Action]:
        reminder = policy.reminder
        prefix = self._prefix(room.platform)
        in_room = PostToRoom(
            room,
            texts.reminder_in_room(reminder.text, prefix, reminder.require_agreement),
            mention=member,
            idempotency_key=f"{key}/room",
        )
        if reminder.delivery == "room":
            return [in_room]
        fallback: tuple[Action, ...] = ()
        if reminder.fallback == "room_mention" and reminder.delivery == "private":
            fallback = (
                PostToRoom(
                    room,
                    texts.reminder_fallback(reminder.text, prefix, reminder.require_agreement),
                    mention=member,
                    idempotency_key=f"{key}/fallback",
                ),
            )
        private = SendPrivate(
            member,
            texts.reminder_private(room.label, reminder.text, prefix, reminder.require_agreement),
            fallback=fallback,
            idempotency_key=key,
            unread_timeout_s=reminder.private_timeout_minutes * 60.0 if fallback else None,
        )
        return [private, in_room] if reminder.delivery == "both" else [private]

    async def _resend_pending(self, older_than: datetime | None = None) -> list[Action]:
        """Reminders recorded but never confirmed delivered (a crash, an outage). Platforms
        dedupe the resend by its idempotency key, so a reminder that did arrive is not
        shown twice."""
        actions: list[Action] = []
        for pending in await self.store.pending_reminders(older_than):
            policy = self.policies.current.by_name(pending.policy)
            if policy is None or policy.reminder.text_hash != pending.text_hash:
                continue  # the text changed meanwhile: the re-ask below covers it
            room = Room(pending.platform, pending.room_id, pending.room_name)
            member = Member(pending.platform, pending.member_id)
            actions += self._reminder_actions(room, member, policy, pending.key)
        return actions

    async def _reask_changed(self, policy: Policy) -> list[Action]:
        if not policy.reminder.reask_on_change:
            return []
        actions: list[Action] = []
        rows = await self.store.members_to_reask(policy.name, policy.reminder.text_hash)
        for platform, room_id, room_name, member_id in rows:
            room = Room(platform, room_id, room_name)
            covering = self.policy_for(room)  # None when only an alias selects the room
            if covering is not None and covering.name != policy.name:
                continue
            member = Member(platform, member_id)
            if policy.reminder.require_agreement and self._caps(platform).posting_permission:
                actions.append(SetPostingAllowed(room, member, False))
            actions += await self._remind(room, member, policy)
        return actions

    async def _on_leave(self, event: MemberLeft) -> list[Action]:
        if self.policy_for(event.room) is not None:
            await self.store.record_leave(
                event.room.platform, event.room.id, event.member.id, event.at
            )
        return []

    # -- posts: agreement gate and periodic reminders -----------------------------------------
    async def _on_message(self, event: MessagePosted) -> list[Action]:
        if event.author.is_bot:
            return []
        policy = self.policy_for(event.room)
        if policy is None:
            return []
        actions = await self._gate(event, policy)
        await self.store.room_state(
            event.room.platform, event.room.id, policy.name, event.room.name, event.at
        )
        count = await self.store.count_room_message(event.room.platform, event.room.id, policy.name)
        repeat = policy.reminder.repeat
        if (
            repeat is not None
            and repeat.every_messages is not None
            and count >= repeat.every_messages
        ):
            actions += await self._periodic_reminder(event.room, policy)
        return actions

    async def _gate(self, event: MessagePosted, policy: Policy) -> list[Action]:
        reminder = policy.reminder
        member, room = event.author, event.room
        if not reminder.require_agreement or self.is_moderator(member, policy):
            return []
        if await self.store.has_agreed(
            member.platform, member.id, policy.name, self._text_hash_for_checks(policy)
        ):
            return []
        prefix = self._prefix(room.platform)
        caps = self._caps(room.platform)
        delete = reminder.unagreed_posts == "hide" and caps.deletes
        actions: list[Action] = []
        if delete:
            actions.append(DeleteMessage(room, event.message_id, member))
        actions.append(
            SendPrivate(
                member,
                texts.post_held_back(room.label, reminder.text, prefix, deleted=delete),
                fallback=(PostToRoom(room, texts.post_held_back_in_room(prefix), mention=member),),
            )
        )
        return actions

    async def _periodic_reminder(self, room: Room, policy: Policy) -> list[Action]:
        """At most once per period: the counter is reset before the post goes out."""
        await self.store.reset_room_reminder(room.platform, room.id, policy.name, self.clock.now())
        prefix = self._prefix(room.platform)
        return [PostToRoom(room, texts.periodic_reminder(policy.reminder.text, prefix))]

    # -- commands ------------------------------------------------------------------------------
    async def _on_command(self, event: CommandInvoked) -> list[Action]:
        if event.invoker.is_bot:
            return []
        spec = self.registry.get(event.name)
        prefix = self._prefix(event.room.platform)
        if spec is None:
            return [self._reply(event, texts.unknown_command(event.name, prefix))]
        policy = self.policy_for(event.room)
        if spec.permission is Permission.MODERATOR and not self.is_moderator(event.invoker, policy):
            log.info("refused %s to a non-moderator on %s", spec.name, event.room.platform)
            return [self._reply(event, texts.refused(f"{prefix}{spec.name}"))]
        try:
            args = bind(spec, event.argv, dict(event.options))
        except UsageError as error:
            return [self._reply(event, str(error).replace("Usage: /", f"Usage: {prefix}"))]
        handler = self._command_handlers.get(spec.name)
        if handler is None:
            return [self._reply(event, f"{prefix}{spec.name} is not available yet.")]
        return await handler(event, args)

    def _reply(self, event: CommandInvoked, text: str) -> ReplyToInvoker:
        return ReplyToInvoker(event.room, event.invoker, text, event.reply_handle)

    async def _cmd_rules(
        self, event: CommandInvoked, _: dict[str, str | int | None]
    ) -> list[Action]:
        policy = self.policy_for(event.room)
        prefix = self._prefix(event.room.platform)
        if policy is None and event.room.is_private_chat:
            # in a private chat: the reminders of the rooms this member was reminded of
            member = event.invoker
            names = await self.store.policies_reminded(member.platform, member.id)
            found = [p for p in self.policies.current.policies if p.name in names]
            if found:
                return [
                    self._reply(
                        event,
                        "\n\n".join(
                            texts.reminder_in_room(
                                p.reminder.text, prefix, p.reminder.require_agreement
                            )
                            for p in found
                        ),
                    )
                ]
        if policy is None:
            return [self._reply(event, texts.no_policy_here(prefix))]
        reminder = policy.reminder
        return [
            self._reply(
                event, texts.reminder_in_room(reminder.text, prefix, reminder.require_agreement)
            )
        ]

    async def _cmd_agree(
        self, event: CommandInvoked, _: dict[str, str | int | None]
    ) -> list[Action]:
        member = event.invoker
        prefix = self._prefix(event.room.platform)
        policy = self.policy_for(event.room)
        if policy is not None:
            targets = [policy]
        else:  # in a private chat: agree to every reminder this member is waiting on
            waiting = await self.store.policies_awaiting_agreement(member.platform, member.id)
            names = {name for name, _ in waiting}
            targets = [p for p in self.policies.current.policies if p.name in names]
            targets = [
                p for p in targets if p.reminder.text_hash in {h for n, h in waiting if n == p.name}
            ]
        if not targets:
            return [self._reply(event, texts.nothing_to_agree(prefix))]
        actions: list[Action] = []
        labels: list[str] = []
        new = False
        for target in targets:
            new |= await self.store.record_agreement(
                member.platform, member.id, target.name, target.reminder.text_hash, event.at
            )
            rooms = await self.store.rooms_reminded(member.platform, member.id, target.name)
            if policy is not None and event.room.id not in {r for r, _ in rooms}:
                rooms.append((event.room.id, event.room.name))
            for room_id, room_name in rooms:
                room = Room(member.platform, room_id, room_name)
                labels.append(room.label if room_id != event.room.id else event.room.label)
                if (
                    target.reminder.require_agreement
                    and self._caps(member.platform).posting_permission
                ):
                    actions.append(SetPostingAllowed(room, member, True))
        reply = texts.agreed(sorted(set(labels))) if new else texts.already_agreed()
        return [*actions, self._reply(event, reply)]

    async def _cmd_help(
        self, event: CommandInvoked, _: dict[str, str | int | None]
    ) -> list[Action]:
        moderator = self.is_moderator(event.invoker, self.policy_for(event.room))
        specs = [s for s in self.registry if s.permission is Permission.MEMBER or moderator]
        return [self._reply(event, texts.help_text(specs, self._prefix(event.room.platform)))]

    def _named_or_room_policy(self, event: CommandInvoked, name: str | int | None) -> Policy | None:
        if isinstance(name, str):
            return self.policies.current.by_name(name)
        return self.policy_for(event.room)

    async def _cmd_policy_show(
        self, event: CommandInvoked, args: dict[str, str | int | None]
    ) -> list[Action]:
        policy = self._named_or_room_policy(event, args.get("name"))
        if policy is None:
            names = ", ".join(p.name for p in self.policies.current.policies) or "none"
            return [self._reply(event, f"No such policy here. Loaded policies: {names}")]
        return [self._reply(event, describe_policy(policy))]

    async def _cmd_policy_reload(
        self, event: CommandInvoked, _: dict[str, str | int | None]
    ) -> list[Action]:
        result, actions = await self.reload_policies()
        await self.store.audit(
            event.invoker.platform,
            event.invoker.id,
            "policy reload",
            "ok" if result.ok else f"{len(result.errors)} errors",
            event.at,
        )
        if result.ok:
            names = ", ".join(p.name for p in self.policies.current.policies)
            state = "changed" if result.changed else "unchanged"
            reply = f"Policies reloaded ({state}): {names}"
        else:
            reply = texts.policy_reload_failed(result.errors)
        return [*actions, self._reply(event, reply)]

    async def _cmd_agreements(
        self, event: CommandInvoked, args: dict[str, str | int | None]
    ) -> list[Action]:
        policy = self._named_or_room_policy(event, args.get("policy"))
        prefix = self._prefix(event.room.platform)
        if policy is None:
            return [self._reply(event, f"Name a policy: {prefix}agreements <policy>")]
        if not self.is_moderator(event.invoker, policy):
            return [self._reply(event, texts.refused(f"{prefix}agreements"))]
        text_hash = self._text_hash_for_checks(policy)
        if self.policy_for(event.room) == policy:
            rooms = [(event.room.id, event.room.label)]
        else:
            rooms = [
                (s.room_id, s.room_name or s.room_id)
                for s in await self.store.room_states()
                if s.policy == policy.name and s.platform == event.room.platform
            ]
        lines = [f"Agreement to the current reminder of {policy.name}:"]
        for room_id, label in rooms:
            report = await self.store.agreement_report(
                event.room.platform, room_id, policy.name, text_hash
            )
            lines.append(f"{label}: {len(report.agreed)} agreed, {len(report.not_agreed)} not yet")
            if report.not_agreed:
                lines.append("  not yet: " + ", ".join(report.not_agreed))
            if report.agreed:
                lines.append("  agreed: " + ", ".join(report.agreed))
        if not rooms:
            lines.append("no members seen yet")
        return [self._reply(event, "\n".join(lines))]

    # -- other events ------------------------------------------------------------------------
    async def _on_moderator_granted(self, event: ModeratorGranted) -> list[Action]:
        self._console_moderators.add((event.member.platform, event.member.id))
        return []

    async def _on_adapter_status(self, event: AdapterStatus) -> list[Action]:
        if not event.problems:
            return []
        for problem in event.problems:
            log.warning("%s adapter: %s", event.platform, problem)
        return self._alerts_for_all(texts.adapter_problems(event.platform, event.problems))

    async def _on_invite(self, event: InvitedToRoom) -> list[Action]:
        """Join rooms a policy covers or alerts go to, and private chats; decline the rest."""
        room = event.room
        wanted = (
            room.is_private_chat
            or self.policy_for(room) is not None
            or any(
                ref.matches(room.platform, room.id, room.name, room.aliases)
                for policy in self.policies.current.policies
                for ref in policy.alerts
            )
        )
        log.info("invite to a %s room: %s", room.platform, "accepting" if wanted else "declining")
        return [JoinRoom(room)] if wanted else [LeaveRoom(room)]

    async def _on_permissions(self, event: BotPermissions) -> list[Action]:
        policy = self.policy_for(event.room)
        if policy is None or not policy.reminder.require_agreement:
            return []
        if event.can_restrict_posting or event.can_delete:
            return []
        problems = (
            f"in {event.room.label} I can neither stop members who have not agreed from "
            "posting nor remove their posts, so the agreement rule is not enforced there",
            *event.missing,
        )
        return await self._on_adapter_status(AdapterStatus(event.room.platform, problems))

    async def _on_unread(self, event: PrivateMessageUnread) -> list[Action]:
        """The member never opened the private chat: use the policy's in-room fallback."""
        reminder_row = await self.store.reminder_by_key(event.idempotency_key)
        if reminder_row is None:
            return []
        policy = self.policies.current.by_name(reminder_row.policy)
        if policy is None or policy.reminder.fallback != "room_mention":
            return []
        room = Room(reminder_row.platform, reminder_row.room_id, reminder_row.room_name)
        prefix = self._prefix(room.platform)
        reminder = policy.reminder
        return [
            PostToRoom(
                room,
                texts.reminder_fallback(reminder.text, prefix, reminder.require_agreement),
                mention=event.member,
                idempotency_key=f"{event.idempotency_key}/unread",
            )
        ]

    async def _nothing(self, _: object) -> list[Action]:
        return []


def reminder_key(platform: str, room_id: str, member_id: str, policy: str, text_hash: str) -> str:
    """Deterministic, so a resend after a crash is recognisable as the same message."""
    digest = hashlib.sha256("\x1f".join((platform, room_id, member_id, policy, text_hash)).encode())
    return "rem-" + digest.hexdigest()[:32]


def describe_policy(policy: Policy) -> str:
    reminder = policy.reminder
    rooms = ", ".join(f"{r.platform}:{r.id or r.alias or r.name}" for r in policy.rooms)
    repeat = "off"
    if reminder.repeat is not None:
        parts = []
        if reminder.repeat.every_days:
            parts.append(f"every {reminder.repeat.every_days} days")
        if reminder.repeat.every_messages:
            parts.append(f"every {reminder.repeat.every_messages} messages")
        repeat = ", ".join(parts)
    return "\n".join(
        [
            f"Policy {policy.name} ({policy.source})",
            f"rooms: {rooms}",
            f"delivery: {reminder.delivery} (fallback: {reminder.fallback})",
            f"agreement required: {'yes' if reminder.require_agreement else 'no'}"
            f" (unagreed posts: {reminder.unagreed_posts})",
            f"re-ask when the text changes: {'yes' if reminder.reask_on_change else 'no'}",
            f"periodic reminder: {repeat}",
            f"reminder text version: {reminder.text_hash}",
            f"moderators: {len(policy.moderators)}, alert rooms: {len(policy.alerts)}",
        ]
    )
