"""The core: events in, actions out.

Handlers are plain async methods in explicit ``type -> handler`` tables. They read the
running policies and the store and return the actions to take; they never talk to a
platform, which is what lets one set of rules serve Discord, Matrix and the console alike.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot import texts
from bot.actions import (
    Action,
    AlertModerators,
    Button,
    CheckGrant,
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
    BotPosted,
    ChoiceMade,
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
from bot.policy import Policy, PolicySet, RoomRef
from bot.policy_holder import PolicyHolder, ReloadResult
from bot.ports import Capabilities
from bot.store import Store
from bot.store.sqlite import RulesMessage

log = logging.getLogger("confidant.core")

PENDING_RETRY_AFTER = timedelta(seconds=60)

CommandHandler = Callable[[CommandInvoked, dict[str, str | int | None]], Awaitable[list[Action]]]
ChoiceHandler = Callable[[ChoiceMade], Awaitable[list[Action]]]

CHOICE_PREFIX = "confidant:"
AGREE_CHOICE = CHOICE_PREFIX + "agree:"


def agree_choice_id(policy: str) -> str:
    """Deterministic, so the button of a message posted before a restart still works."""
    return AGREE_CHOICE + policy


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
            MessageDeleted: self._on_message_deleted,  # type: ignore[dict-item]
            CommandInvoked: self._on_command,  # type: ignore[dict-item]
            ChoiceMade: self._on_choice,  # type: ignore[dict-item]
            BotPosted: self._on_bot_posted,  # type: ignore[dict-item]
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
        self._choice_handlers: dict[str, ChoiceHandler] = {AGREE_CHOICE: self._choice_agree}
        # Rules-message posts handed out in this run and not yet reported back: a second
        # BotPermissions for the room meanwhile must not post the message twice.
        self._rules_posting: set[str] = set()

    def add_command(self, name: str, handler: CommandHandler) -> None:
        """Later features attach handlers to commands they registered."""
        if self.registry.get(name) is None:
            raise ValueError(f"register the spec for {name!r} before its handler")
        self._command_handlers[name] = handler

    def add_choice(self, prefix: str, handler: ChoiceHandler) -> None:
        """Later features (check-ins) answer the buttons and selects whose ids they chose."""
        if not prefix.startswith(CHOICE_PREFIX) or prefix in self._choice_handlers:
            raise ValueError(f"choice ids start with {CHOICE_PREFIX!r} and are claimed once")
        self._choice_handlers[prefix] = handler

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
        before = self.policies.current
        result = self.policies.reload()
        actions: list[Action] = []
        if not result.ok:
            actions += self._alerts_for_all(texts.policy_reload_failed(result.errors))
        elif result.changed:
            for policy in self.policies.current.policies:
                actions += await self._reask_changed(policy)
            actions += await self._refresh_rules_messages()
            actions += await self._check_new_grants(before)
        return result, actions

    async def delivered(self, action: Action, channel: str) -> None:
        """The runtime reports a completed action; reminders leave the outbox here."""
        key = getattr(action, "idempotency_key", None)
        if key and key.startswith("rem-"):
            await self.store.mark_reminder_delivered(key.split("/")[0], channel, self.clock.now())
        elif key and key.startswith("rules-"):
            # Out, even where the adapter cannot tell its id (BotPosted): not posted again.
            self._rules_posting.discard(key)
            await self.store.rules_message_out(key, self.clock.now())

    # -- helpers ---------------------------------------------------------------------------
    def policy_for(self, room: Room) -> Policy | None:
        current = self.policies.current
        policy = current.for_room(room.platform, room.id, room.name, room.aliases)
        if policy is None and room.parent_id is not None:  # threads inherit their channel
            policy = current.for_room(room.platform, room.parent_id)
        return policy

    def grant_for(self, room: Room, policy: Policy) -> str | None:
        """The role the policy names for posting in ``room`` (a thread: its channel's)."""
        ref = policy.room_ref(room.platform, room.id, room.name, room.aliases)
        if ref is None and room.parent_id is not None:
            ref = policy.room_ref(room.platform, room.parent_id)
        return ref.agreed_role if ref is not None else None

    def _posting(
        self, room: Room, member: Member, allowed: bool, policy: Policy
    ) -> SetPostingAllowed:
        return SetPostingAllowed(room, member, allowed, self.grant_for(room, policy))

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
        # With a rules message nothing is sent to a joining member: the room shows it.
        if policy.reminder.delivery != "rules_message" and not await self.store.was_reminded(
            room.platform, room.id, member.id, policy.name, check_hash
        ):
            actions += await self._remind(room, member, policy)
        must_agree = policy.reminder.require_agreement and not self.is_moderator(member, policy)
        if must_agree and self._caps(room.platform).posting_permission:
            agreed = await self.store.has_agreed(
                member.platform, member.id, policy.name, self._text_hash_for_checks(policy)
            )
            actions.append(self._posting(room, member, agreed, policy))
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
        if reminder.delivery == "private":
            fallback = self._fallback(
                room,
                member,
                policy,
                texts.reminder_fallback(reminder.text, prefix, reminder.require_agreement),
                texts.reminder_in_thread(reminder.text, prefix, reminder.require_agreement),
                f"{key}/fallback",
            )
        private = SendPrivate(
            member,
            texts.reminder_private(room.label, reminder.text, prefix, reminder.require_agreement),
            fallback=fallback,
            idempotency_key=key,
            unread_timeout_s=reminder.private_timeout_minutes * 60.0 if fallback else None,
        )
        return [private, in_room] if reminder.delivery == "both" else [private]

    def _fallback(
        self,
        room: Room,
        member: Member,
        policy: Policy,
        in_room: str,
        in_thread: str,
        key: str | None = None,
    ) -> tuple[Action, ...]:
        """What to do instead of a private message, as the policy says. ``next_interaction``
        needs no action: the reminder stays owed in the store until the member's next
        command or button press carries it (see :meth:`_with_owed`)."""
        reminder = policy.reminder
        if reminder.fallback == "room_mention":
            minutes = reminder.fallback_delete_after_minutes
            return (
                PostToRoom(
                    room,
                    in_room,
                    mention=member,
                    idempotency_key=key,
                    delete_after_s=minutes * 60.0 if minutes is not None else None,
                ),
            )
        if reminder.fallback == "private_thread":
            return (
                PostToRoom(
                    room, in_thread, mention=member, idempotency_key=key, private_thread=True
                ),
            )
        return ()

    async def _resend_pending(self, older_than: datetime | None = None) -> list[Action]:
        """Reminders recorded but never confirmed delivered (a crash, an outage). Platforms
        dedupe the resend by its idempotency key, so a reminder that did arrive is not
        shown twice."""
        actions: list[Action] = []
        for pending in await self.store.pending_reminders(older_than):
            policy = self.policies.current.by_name(pending.policy)
            if policy is None or policy.reminder.text_hash != pending.text_hash:
                continue  # the text changed meanwhile: the re-ask below covers it
            if policy.reminder.delivery == "rules_message":
                continue  # nothing is sent privately any more
            if older_than is not None and policy.reminder.fallback == "next_interaction":
                continue  # most likely refused: owed to the member's next interaction instead
            room = Room(pending.platform, pending.room_id, pending.room_name)
            member = Member(pending.platform, pending.member_id)
            actions += self._reminder_actions(room, member, policy, pending.key)
        return actions

    async def _reask_changed(self, policy: Policy) -> list[Action]:
        if not policy.reminder.reask_on_change or policy.reminder.delivery == "rules_message":
            return []  # a rules message is edited instead (see _rules_message)
        actions: list[Action] = []
        rows = await self.store.members_to_reask(policy.name, policy.reminder.text_hash)
        for platform, room_id, room_name, member_id in rows:
            room = Room(platform, room_id, room_name)
            covering = self.policy_for(room)  # None when only an alias selects the room
            if covering is not None and covering.name != policy.name:
                continue
            member = Member(platform, member_id)
            if policy.reminder.require_agreement and self._caps(platform).posting_permission:
                actions.append(self._posting(room, member, False, policy))
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
        if reminder.delivery == "rules_message":  # no private message, ever
            note = texts.post_held_back_rules(prefix, caps.buttons)
            return [*actions, *self._notice(room, member, policy, note)]
        actions.append(
            SendPrivate(
                member,
                texts.post_held_back(room.label, reminder.text, prefix, deleted=delete),
                fallback=self._notice(room, member, policy, texts.post_held_back_in_room(prefix)),
            )
        )
        return actions

    def _notice(self, room: Room, member: Member, policy: Policy, text: str) -> tuple[Action, ...]:
        """A held-back post is always explained: in a private thread if the policy says so,
        else with a mention in the room (deleted later if the policy says so)."""
        if policy.reminder.fallback == "private_thread":
            return self._fallback(room, member, policy, text, text)
        minutes = policy.reminder.fallback_delete_after_minutes
        delete_after = minutes * 60.0 if minutes is not None else None
        return (PostToRoom(room, text, mention=member, delete_after_s=delete_after),)

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
        return await self._with_owed(event.invoker, await handler(event, args))

    async def _with_owed(self, member: Member, actions: list[Action]) -> list[Action]:
        """Reminders owed to a member whose private messages were refused (fallback
        ``next_interaction``) ride on the first reply only they see, once."""
        index = next(
            (
                i
                for i, a in enumerate(actions)
                if isinstance(a, ReplyToInvoker) and a.member == member
            ),
            None,
        )
        if index is None:
            return actions
        notes: list[str] = []
        for owed in await self.store.owed_reminders(member.platform, member.id):
            policy = self.policies.current.by_name(owed.policy)
            if (
                policy is None
                or policy.reminder.fallback != "next_interaction"
                or policy.reminder.delivery == "rules_message"
                or policy.reminder.text_hash != owed.text_hash
            ):
                continue
            reminder = policy.reminder
            label = Room(owed.platform, owed.room_id, owed.room_name).label
            prefix = self._prefix(owed.platform)
            notes.append(
                texts.reminder_owed(label, reminder.text, prefix, reminder.require_agreement)
            )
            await self.store.mark_reminder_delivered(
                owed.key, "next_interaction", self.clock.now()
            )
        if not notes:
            return actions
        reply = actions[index]
        assert isinstance(reply, ReplyToInvoker)
        text = "\n\n".join([reply.text, *notes])
        return [*actions[:index], dataclasses.replace(reply, text=text), *actions[index + 1 :]]

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
        here = event.room if policy is not None else None
        new, labels, actions = await self._agree(member, targets, here, event.at)
        reply = texts.agreed(labels) if new else texts.already_agreed()
        return [*actions, self._reply(event, reply)]

    async def _agree(
        self, member: Member, targets: list[Policy], here: Room | None, at: datetime
    ) -> tuple[bool, list[str], list[Action]]:
        """Record agreement to each policy and let the member post in its rooms.
        Returns (any new agreement, room labels, actions); ``here`` is the covered room the
        member agreed in, if any."""
        actions: list[Action] = []
        labels: list[str] = []
        new = False
        for target in targets:
            new |= await self.store.record_agreement(
                member.platform, member.id, target.name, target.reminder.text_hash, at
            )
            rooms = await self.store.rooms_reminded(member.platform, member.id, target.name)
            if target.reminder.delivery == "rules_message":  # no reminders: rooms they are in
                rooms += await self.store.member_rooms_for_policy(
                    member.platform, member.id, target.name
                )
            if here is not None:
                rooms.append((here.id, here.name))
            seen: set[str] = set()
            for room_id, room_name in rooms:
                if room_id in seen:
                    continue
                seen.add(room_id)
                room = here if here is not None and room_id == here.id else None
                room = room or Room(member.platform, room_id, room_name)
                labels.append(room.label)
                if (
                    target.reminder.require_agreement
                    and self._caps(member.platform).posting_permission
                ):
                    actions.append(self._posting(room, member, True, target))
        return new, sorted(set(labels)), actions

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

    # -- buttons and selects -------------------------------------------------------------------
    async def _on_choice(self, event: ChoiceMade) -> list[Action]:
        if event.member.is_bot:
            return []
        handlers = self._choice_handlers.items()
        handler = next((h for p, h in handlers if event.choice_id.startswith(p)), None)
        if handler is None:
            log.info("a choice nobody handles was made on %s", event.room.platform)
            actions: list[Action] = [
                ReplyToInvoker(event.room, event.member, texts.choice_gone(), event.reply_handle)
            ]
        else:
            actions = await handler(event)
        return await self._with_owed(event.member, actions)

    async def _choice_agree(self, event: ChoiceMade) -> list[Action]:
        """The Agree button of a rules message: as /agree, answered with the reminder."""
        policy = self.policies.current.by_name(event.choice_id[len(AGREE_CHOICE) :])
        if policy is None:
            return [
                ReplyToInvoker(event.room, event.member, texts.choice_gone(), event.reply_handle)
            ]
        here = event.room if self.policy_for(event.room) == policy else None
        new, labels, actions = await self._agree(event.member, [policy], here, event.at)
        reply = texts.agreed_with_reminder(new, labels, policy.reminder.text)
        return [*actions, ReplyToInvoker(event.room, event.member, reply, event.reply_handle)]

    # -- standing rules messages -----------------------------------------------------------------
    async def _rules_message(self, room: Room, policy: Policy, after: str = "") -> list[Action]:
        """Make sure the room shows the policy's rules message as it should read now: post it
        if the room has none, edit it if its text changed, else leave it alone (a restart
        reuses it: its button id is deterministic). ``after`` names a deleted predecessor,
        so that the new post is not mistaken for a repeat of the old one."""
        caps = self._caps(room.platform)
        text = texts.rules_message(policy.reminder.text, caps.command_prefix, caps.buttons)
        buttons = (Button(agree_choice_id(policy.name), texts.AGREE_LABEL),)
        content = _digest(text, *(f"{b.id}\x1e{b.label}" for b in buttons))
        key = "rules-" + _digest(room.platform, room.id, policy.name, content, after)[:32]
        current = await self.store.rules_message(room.platform, room.id, policy.name)
        if (
            current is not None
            and current.content_hash == content
            and (current.posted or key in self._rules_posting)
        ):
            return []
        replaces = current.message_id if current is not None else None
        await self.store.save_rules_message(
            RulesMessage(room.platform, room.id, policy.name, room.name, content, key, replaces),
            self.clock.now(),
        )
        self._rules_posting.add(key)
        post = PostToRoom(
            room, text, idempotency_key=key, buttons=buttons, replaces=replaces, report_id=True
        )
        actions: list[Action] = [post]
        if current is not None and current.content_hash != content:
            actions += await self._hold_unagreed(room, policy)
        return actions

    async def _hold_unagreed(self, room: Room, policy: Policy) -> list[Action]:
        """After a text change, members who have not agreed to the new text wait again."""
        reminder = policy.reminder
        if not (
            reminder.require_agreement
            and reminder.reask_on_change
            and self._caps(room.platform).posting_permission
        ):
            return []
        report = await self.store.agreement_report(
            room.platform, room.id, policy.name, reminder.text_hash
        )
        members = [Member(room.platform, m) for m in report.not_agreed]
        return [
            self._posting(room, m, False, policy)
            for m in members
            if not self.is_moderator(m, policy)
        ]

    async def _refresh_rules_messages(self) -> list[Action]:
        """After a reload: edit rules messages whose text changed; remove those of rooms whose
        policy no longer wants one."""
        actions: list[Action] = []
        for row in await self.store.rules_messages():
            room = Room(row.platform, row.room_id, row.room_name)
            policy = self.policies.current.by_name(row.policy)
            if policy is not None and policy.reminder.delivery == "rules_message":
                actions += await self._rules_message(room, policy)
            elif row.message_id is not None:
                await self.store.forget_rules_message(row.platform, row.room_id, row.message_id)
                actions.append(DeleteMessage(room, row.message_id))
        return actions

    async def _on_bot_posted(self, event: BotPosted) -> list[Action]:
        key = event.idempotency_key
        if key is not None and key.startswith("rules-"):
            self._rules_posting.discard(key)
            await self.store.rules_message_posted(key, event.message_id, event.at)
        return []

    async def _on_message_deleted(self, event: MessageDeleted) -> list[Action]:
        room = event.room
        forgotten = await self.store.forget_rules_message(room.platform, room.id, event.message_id)
        if forgotten is not None:
            log.info("a rules message was removed on %s; it is posted again", room.platform)
            policy = self.policies.current.by_name(forgotten.policy)
            if policy is not None and policy.reminder.delivery == "rules_message":
                again = Room(room.platform, room.id, room.name or forgotten.room_name)
                return await self._rules_message(again, policy, after=event.message_id)
        return []

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
        """Sent for each room at start (and on joining one): the moment to check the room's
        rules message as well as what the bot may do there."""
        policy = self.policy_for(event.room)
        if policy is None:
            return []
        actions: list[Action] = []
        if policy.reminder.delivery == "rules_message":
            actions += await self._rules_message(event.room, policy)
        if not policy.reminder.require_agreement:
            return actions
        grant = self.grant_for(event.room, policy)
        if grant is not None and self._caps(event.room.platform).posting_permission:
            actions.append(CheckGrant(event.room, grant))
        if event.can_restrict_posting or event.can_delete:
            return actions
        problems = (
            f"in {event.room.label} I can neither stop members who have not agreed from "
            "posting nor remove their posts, so the agreement rule is not enforced there",
            *event.missing,
        )
        return actions + await self._on_adapter_status(AdapterStatus(event.room.platform, problems))

    async def _check_new_grants(self, before: PolicySet) -> list[Action]:
        """After a reload, check the roles that rooms name afresh (or name differently);
        unchanged ones were checked when the adapter reported the room."""
        old = {
            (policy.name, ref.platform, ref.selector, ref.agreed_role)
            for policy in before.policies
            for ref in policy.rooms
        }
        wanted: list[tuple[Policy, RoomRef]] = [
            (policy, ref)
            for policy in self.policies.current.policies
            if policy.reminder.require_agreement
            for ref in policy.rooms
            if ref.agreed_role is not None
            and (policy.name, ref.platform, ref.selector, ref.agreed_role) not in old
            and self._caps(ref.platform).posting_permission
        ]
        if not wanted:
            return []
        known = await self.store.room_states()
        actions: list[Action] = []
        for policy, ref in wanted:
            assert ref.agreed_role is not None
            rooms = [
                Room(s.platform, s.room_id, s.room_name)
                for s in known
                if s.policy == policy.name and ref.matches(s.platform, s.room_id, s.room_name, ())
            ]
            if ref.id is not None and not any(r.id == ref.id for r in rooms):
                rooms.append(Room(ref.platform, ref.id))  # no member seen there yet
            actions += [CheckGrant(room, ref.agreed_role) for room in rooms]
        return actions

    async def _on_unread(self, event: PrivateMessageUnread) -> list[Action]:
        """The member never opened the private chat: use the policy's in-room fallback."""
        reminder_row = await self.store.reminder_by_key(event.idempotency_key)
        if reminder_row is None:
            return []
        policy = self.policies.current.by_name(reminder_row.policy)
        if policy is None:
            return []
        room = Room(reminder_row.platform, reminder_row.room_id, reminder_row.room_name)
        prefix = self._prefix(room.platform)
        reminder = policy.reminder
        return list(
            self._fallback(
                room,
                event.member,
                policy,
                texts.reminder_fallback(reminder.text, prefix, reminder.require_agreement),
                texts.reminder_in_thread(reminder.text, prefix, reminder.require_agreement),
                f"{event.idempotency_key}/unread",
            )
        )

    async def _nothing(self, _: object) -> list[Action]:
        return []


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def reminder_key(platform: str, room_id: str, member_id: str, policy: str, text_hash: str) -> str:
    """Deterministic, so a resend after a crash is recognisable as the same message."""
    digest = hashlib.sha256("\x1f".join((platform, room_id, member_id, policy, text_hash)).encode())
    return "rem-" + digest.hexdigest()[:32]


def describe_policy(policy: Policy) -> str:
    reminder = policy.reminder
    rooms = ", ".join(
        f"{r.platform}:{r.id or r.alias or r.name}"
        + (f" (posting role {r.agreed_role})" if r.agreed_role else "")
        for r in policy.rooms
    )
    repeat = "off"
    if reminder.repeat is not None:
        parts = []
        if reminder.repeat.every_days:
            parts.append(f"every {reminder.repeat.every_days} days")
        if reminder.repeat.every_messages:
            parts.append(f"every {reminder.repeat.every_messages} messages")
        repeat = ", ".join(parts)
    minutes = reminder.fallback_delete_after_minutes
    deleted = f", deleted after {minutes:g} minutes" if minutes is not None else ""
    return "\n".join(
        [
            f"Policy {policy.name} ({policy.source})",
            f"rooms: {rooms}",
            f"delivery: {reminder.delivery} (fallback: {reminder.fallback}{deleted})",
            f"agreement required: {'yes' if reminder.require_agreement else 'no'}"
            f" (unagreed posts: {reminder.unagreed_posts})",
            f"re-ask when the text changes: {'yes' if reminder.reask_on_change else 'no'}",
            f"periodic reminder: {repeat}",
            f"reminder text version: {reminder.text_hash}",
            f"moderators: {len(policy.moderators)}, alert rooms: {len(policy.alerts)}",
        ]
    )
