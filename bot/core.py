"""The core: events in, actions out.

Handlers are plain async functions, one module per feature (reminding, gating, moderation,
rules_messages, room_admin), bound to the core in explicit ``type -> handler`` tables here.
They read the running policies and the store and return the actions to take; they never
talk to a platform, which is what lets one set of rules serve Discord, Matrix and the
console alike. The core keeps the shared state and the helpers every feature uses.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from bot import (
    bot_audit,
    bursts,
    gating,
    i18n,
    moderation,
    presence,
    read_gate,
    reminding,
    repeat_flags,
    room_admin,
    rules_messages,
    texts,
)
from bot.actions import (
    Action,
    AlertModerators,
    DeleteMessage,
    PostToRoom,
    ReplyToInvoker,
    SendPrivate,
    SetPostingAllowed,
)
from bot.alert_outbox import AlertOutbox
from bot.builtin_commands import (
    AGREE,
    AGREEMENTS,
    ANSWER,
    AUDIT,
    CHECKIN_HISTORY,
    CHECKIN_PAUSE,
    CHECKIN_RESUME,
    CHECKIN_SCHEDULE,
    CHECKIN_SNOOZE,
    CHECKIN_START,
    CHECKIN_STATS,
    CHECKIN_STOP,
    CLAIM,
    FLAG,
    FLAGS,
    FORGETME,
    GROUP_DEFAULTS,
    HELP,
    MYDATA,
    POLICY_RELOAD,
    POLICY_SHOW,
    REPORT,
    RULES,
)
from bot.checkins import CHECKIN_CHOICE, Checkins
from bot.checkins import commands as checkin_commands
from bot.checkins import rights as checkin_rights
from bot.checkins.recurring import Recurring
from bot.clock import Clock
from bot.command_words import alias_table, resolve
from bot.commands import Permission, Registry, UsageError, bind
from bot.events import (
    AccessRequested,
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
    RoomMembers,
)
from bot.i18n_choice import deployment_language, event_language, member_language, member_of
from bot.identifiers import AGREE_CHOICE, CHOICE_PREFIX
from bot.jobs import EVERYTHING, Duties
from bot.leaks_flow import LeakWatch
from bot.leaks_flow import commands as leak_commands
from bot.logs import fields
from bot.metrics import Metrics, NoMetrics
from bot.policy import Policy
from bot.policy_holder import PolicyHolder, ReloadResult
from bot.ports import Capabilities
from bot.reports import Reports
from bot.store import Store

log = logging.getLogger("confidant.core")

REPLY_MEMORY = timedelta(days=1)  # a replayed private message comes within minutes

CommandHandler = Callable[[CommandInvoked, dict[str, str | int | None]], Awaitable[list[Action]]]
ChoiceHandler = Callable[[ChoiceMade], Awaitable[list[Action]]]


@dataclass
class Core:
    policies: PolicyHolder
    store: Store
    clock: Clock
    registry: Registry
    capabilities: Mapping[str, Capabilities]
    _console_moderators: set[tuple[str, str]] = field(default_factory=set)
    # The deployment key (App.key); without one the core runs without leak flagging and
    # without check-ins (their answers are sealed with a key derived from it).
    leak_key: bytes | None = field(default=None, repr=False)
    metrics: Metrics = field(default_factory=NoMetrics)  # counts only (see bot/metrics.py)
    # newcomers waiting for a join burst's room reminder (see bot/bursts.py)
    burst_waits: bursts.Bursts = field(default_factory=lambda: bursts.Bursts())

    def __post_init__(self) -> None:
        i18n.set_default(deployment_language(self.policies.current.policies))
        self._event_handlers: dict[type, Callable[[object], Awaitable[list[Action]]]] = {
            MemberJoined: partial(reminding.on_join, self),  # type: ignore[dict-item]
            MemberLeft: partial(reminding.on_leave, self),  # type: ignore[dict-item]
            RoomMembers: partial(presence.on_room_members, self),  # type: ignore[dict-item]
            MessagePosted: self._on_message,  # type: ignore[dict-item]
            MessageEdited: self._on_edited,  # type: ignore[dict-item]
            MessageDeleted: self._on_deleted,  # type: ignore[dict-item]
            CommandInvoked: self._on_command,  # type: ignore[dict-item]
            ChoiceMade: partial(room_admin.on_choice, self),  # type: ignore[dict-item]
            BotPosted: partial(rules_messages.on_bot_posted, self),  # type: ignore[dict-item]
            PrivateReply: self._on_private_reply,  # type: ignore[dict-item]
            ModeratorGranted: partial(room_admin.on_moderator_granted, self),  # type: ignore[dict-item]
            InvitedToRoom: partial(room_admin.on_invite, self),  # type: ignore[dict-item]
            BotPermissions: partial(room_admin.on_permissions, self),  # type: ignore[dict-item]
            PrivateMessageUnread: partial(reminding.on_unread, self),  # type: ignore[dict-item]
            AdapterStatus: partial(room_admin.on_adapter_status, self),  # type: ignore[dict-item]
            AccessRequested: partial(read_gate.on_access_requested, self),  # type: ignore[dict-item]
        }
        self._command_handlers: dict[str, CommandHandler] = {
            RULES.name: partial(moderation.cmd_rules, self),
            AGREE.name: partial(gating.cmd_agree, self),
            HELP.name: partial(moderation.cmd_help, self),
            POLICY_SHOW.name: partial(moderation.cmd_policy_show, self),
            POLICY_RELOAD.name: partial(moderation.cmd_policy_reload, self),
            AGREEMENTS.name: partial(moderation.cmd_agreements, self),
        }
        self._choice_handlers: dict[str, ChoiceHandler] = {
            AGREE_CHOICE: partial(gating.choice_agree, self)
        }
        # Rules-message posts handed out in this run and not yet reported back: a second
        # BotPermissions for the room meanwhile must not post the message twice.
        self._rules_posting: set[str] = set()
        # Refusals the moderators were told of in this run: (platform, action, room).
        self.refusals_told: set[tuple[str, str, str]] = set()
        # Unagreed posts left in the room, last answered with a reminder (see gating).
        self._reload_alerted: tuple[str, ...] | None = None  # errors last alerted
        # Moderators' rooms told of a failed reload since the last good one: (platform, room).
        self._reload_failure_told: set[tuple[str, str]] = set()
        self.unagreed_reminded: dict[tuple[str, str, str, str], datetime] = {}
        self.alerts = AlertOutbox(self.store, self.clock, self.leak_key)
        self.leaks: LeakWatch | None = None
        if self.leak_key is not None:
            self.leaks = LeakWatch(self, self.leak_key)
            leaks = self.leaks
            for spec, handler in (
                (FLAGS, leak_commands.cmd_flags),
                (FLAG, leak_commands.cmd_flag),
                (AUDIT, leak_commands.cmd_audit),
            ):
                if self.registry.get(spec.name) is not None:
                    self.add_command(spec.name, partial(handler, leaks))
        self.checkins: Checkins | None = None
        self.recurring: Recurring | None = None
        if self.leak_key is not None:
            self.checkins = Checkins(self, self.leak_key)
            checkins = self.checkins
            recurring = self.recurring = Recurring(checkins)
            checkin_handlers: tuple[tuple[str, Callable[..., Awaitable[list[Action]]]], ...] = (
                (CHECKIN_START.name, lambda event, _: checkins.start(event)),
                (CHECKIN_HISTORY.name, partial(checkin_commands.cmd_history, checkins)),
                (CHECKIN_STATS.name, partial(checkin_commands.cmd_stats, checkins)),
                (CLAIM.name, partial(checkin_commands.cmd_claim, checkins)),
                (MYDATA.name, partial(checkin_rights.cmd_mydata, checkins)),
                (FORGETME.name, partial(checkin_rights.cmd_forgetme, checkins)),
                (CHECKIN_SCHEDULE.name, recurring.cmd_schedule),
                (CHECKIN_SNOOZE.name, recurring.cmd_snooze),
                (CHECKIN_PAUSE.name, recurring.cmd_pause),
                (CHECKIN_RESUME.name, recurring.cmd_resume),
                (CHECKIN_STOP.name, recurring.cmd_stop),
            )
            for name, checkin_handler in checkin_handlers:
                if self.registry.get(name) is not None:
                    self.add_command(name, checkin_handler)
            self.add_choice(CHECKIN_CHOICE, checkins.on_choice)
        self.reports: Reports | None = None  # members' reports: their ids are sealed
        if self.leak_key is not None:
            self.reports = Reports(self, self.leak_key)
            for spec, report_handler in (
                (REPORT, self.reports.cmd_report),
                (ANSWER, self.reports.cmd_answer),
            ):
                if self.registry.get(spec.name) is not None:
                    self.add_command(spec.name, report_handler)

    def add_command(self, name: str, handler: CommandHandler) -> None:
        """Later features attach handlers to commands they registered."""
        if self.registry.get(name) is None:
            raise ValueError(f"register the spec for {name!r} before its handler")
        self._command_handlers[name] = handler

    def handles(self, name: str) -> bool:
        """Whether a command has a handler in this run (leak and check-in commands need the
        deployment key): /help lists only these."""
        return name in self._command_handlers

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
        with i18n.speaking(await self._language_of(event)):
            return await handler(event)

    async def _language_of(self, event: Event) -> str | None:
        """The room's language; in a private chat, the member's (bot/i18n_choice.py)."""
        current = self.policies.current
        said = event_language(current, event)
        room, member = getattr(event, "room", None), member_of(event)
        private = isinstance(room, Room) and room.is_private_chat
        several = len({p.language for p in current.policies}) > 1  # else the default says it
        if said is None and private and several and member is not None:
            reminded = await self.store.policies_reminded(member.platform, member.id)
            said = member_language(current, reminded)
        return said

    async def startup_actions(self, duties: Duties = EVERYTHING) -> list[Action]:
        """What a (re)start owes: interrupted reminders, and re-asks for changed texts.
        The leak index is loaded (after the retention purge) before any event arrives.

        With other processes on the store (``duties`` leased: bot/jobs.py) some of what is
        owed may be on its way from them right now: reminders and alerts are then resent
        as a tick resends them (this process's platforms, claimed, past their lease), and
        the rest by the leases' holders' ticks."""
        if self.leaks is not None:
            await self.leaks.start()
        shared = duties is not EVERYTHING
        if shared:
            older = self.clock.now() - reminding.PENDING_RETRY_AFTER
            actions = await reminding.resend_pending(self, older_than=older, mine=duties.members)
        else:
            actions = await reminding.resend_pending(self)
        if self.recurring is not None:  # scheduled check-ins missed while down (claimed)
            actions += await self.recurring.startup(mine=duties.runs if shared else None)
        for policy in self.policies.current.policies:
            with i18n.speaking(policy.language):
                actions += await read_gate.suspend_changed(self, policy)  # before the re-ask
                actions += await reminding.reask_changed(self, policy)
        actions += await rules_messages.check_rules_messages(self)
        if shared:  # an alert for a platform run elsewhere is not dropped here
            actions += await self.alerts.due(mine=duties.members, purge=False)
        else:
            actions += await self.alerts.owed_at_start()  # cut off by a crash, or not reachable
        return actions

    def burst_reminders(self) -> list[Action]:
        """Room reminders of a join burst that came due (the runtime asks every second)."""
        return bursts.room_reminders(self) if self.burst_waits.waiting() else []

    async def resume_actions(self, duties: Duties = EVERYTHING) -> list[Action]:
        """Check-ins a restart interrupted, asked again where each stands. Called once the
        adapters delivered their backlog: a replayed answer moves a check-in on, and asking
        from what the store said before it would repeat a question already answered.

        With other processes on the store (``duties`` leased), only where this process
        holds the platform's lease on members' private messages (the others' check-ins
        go on elsewhere): one a crash interrupted elsewhere is closed by the timeout (the
        member is told) rather than asked twice."""
        if self.checkins is None:
            return []
        return await self.checkins.startup(None if duties is EVERYTHING else duties.members)

    async def tick(self, duties: Duties = EVERYTHING) -> list[Action]:
        """Called periodically by the runtime: time-based re-reminders, and once a day the
        retention purges. ``duties`` says which of these jobs are this process's (several
        processes on one store share them: bot/jobs.py); alone, all of them are."""
        now = self.clock.now()
        store_wide = await duties.store_wide()
        if store_wide:
            await self.store.forget_replies(now - REPLY_MEMORY)
        if self.leaks is not None:  # this process's own index (and a purge by date)
            await self.leaks.tick()
        mine = duties.members
        actions = await reminding.resend_pending(
            self, older_than=now - reminding.PENDING_RETRY_AFTER, mine=mine
        )
        if self.checkins is not None:
            actions += await self.checkins.tick(mine=mine, purge=store_wide)
        if self.recurring is not None:  # scheduled check-ins whose local time came
            actions += await self.recurring.tick(mine=mine)
        actions += await repeat_flags.restorations_due(self, mine=mine)  # timeouts that ended
        # alerts whose pause after a failure is over
        actions += await self.alerts.due(mine=mine, purge=store_wide)
        for state in await self.store.room_states():
            policy = self.policies.current.by_name(state.policy)
            repeat = policy.reminder.repeat if policy else None
            if policy is None or repeat is None or repeat.every_days is None:
                continue
            due_by = now - timedelta(days=repeat.every_days)
            if state.last_reminded_at <= due_by:
                room = Room(state.platform, state.room_id, state.room_name)
                if await duties.rooms(room):
                    with i18n.speaking(policy.language):
                        actions += await reminding.periodic_reminder(self, room, policy, due_by)
        return actions

    async def reload_policies(self) -> tuple[ReloadResult, list[Action]]:
        """Reload from disk; on failure alert moderators of the last good policies."""
        before = self.policies.current
        result = self.policies.reload()
        actions: list[Action] = []
        if not result.ok:
            # The same errors are alerted once: a moderator's /policy reload after the file
            # watcher told the moderators' rooms gets its own answer, and no second alert.
            if tuple(result.errors) != self._reload_alerted:
                self._reload_alerted = tuple(result.errors)
                everyone = self.policies.current.policies
                failed = self.alerts_per_room(partial(_reload_failure, result, everyone))
                self._reload_failure_told.update(
                    (a.platform, a.room_selector) for a in failed if isinstance(a, AlertModerators)
                )
                actions += failed
            return result, actions
        self._reload_alerted = None
        i18n.set_default(deployment_language(self.policies.current.policies))
        # The moderators who were told of a failure hear that it is over, in the same rooms.
        told, self._reload_failure_told = self._reload_failure_told, set()
        actions += [
            AlertModerators(platform, room, texts.policy_reloaded_after_failure())
            for platform, room in sorted(told)
        ]
        if result.changed:
            if self.leaks is not None:
                await self.leaks.policies_changed()
            for policy in self.policies.current.policies:
                with i18n.speaking(policy.language):
                    actions += await read_gate.suspend_changed(self, policy)  # before re-asks
                    actions += await reminding.reask_changed(self, policy)
            actions += await rules_messages.refresh_rules_messages(self)
            actions += await gating.check_new_grants(self, before)
            actions += await read_gate.check_after_reload(self, before)
        return result, actions

    async def delivered(self, action: Action, channel: str) -> None:
        """The runtime reports a completed action; reminders leave the outbox here, and the
        bot's own moderation actions enter the audit log (see bot/bot_audit.py)."""
        await bot_audit.record(self, action)
        await read_gate.delivered(self, action)
        await bursts.delivered(self, action)
        key = getattr(action, "idempotency_key", None)
        if key and key.startswith("rem-"):
            await self.reminder_delivered(key.split("/")[0], channel)
        elif key and key.startswith("rules-"):
            # Out, even where the adapter cannot tell its id (BotPosted): not posted again.
            self._rules_posting.discard(key)
            await self.store.rules_message_out(key, self.clock.now())

    async def private_not_now(self, action: SendPrivate) -> bool:
        """A private message the platform would not take just now (see reminding)."""
        return await reminding.private_not_now(self, action)

    async def unreachable(self, action: SendPrivate) -> bool:
        """The member of a private message shares no place with the bot any more; False
        when it is no reminder (see reminding.unreachable)."""
        return await reminding.unreachable(self, action)

    async def undeliverable(self, action: SendPrivate) -> None:
        """Neither the private message nor any fallback reached the member (see reminding)."""
        await reminding.undeliverable(self, action)

    async def refused(self, action: Action, reason: str) -> list[Action]:
        """The platform refused an action: its policy's moderators hear of it once per
        run, room and kind of action, so they can fix the permission (see room_admin)."""
        with i18n.speaking(event_language(self.policies.current, action)):
            return room_admin.refused(self, action, reason)

    async def fallbacks(self, action: SendPrivate) -> tuple[Action, ...]:
        """What to do instead of a refused private message."""
        with i18n.speaking(_policy_language(self, action)):
            return await reminding.fallbacks(self, action)

    async def reminder_delivered(self, key: str, channel: str) -> None:
        """The reminder leaves the outbox; counted and logged once per reminder, however
        many channels it went out on."""
        if not await self.store.mark_reminder_delivered(key, channel, self.clock.now()):
            return
        self.metrics.count("reminder_sent")
        sent = await self.store.reminder_by_key(key)
        if sent is not None:
            ids = fields(
                "reminder_sent",
                platform=sent.platform,
                room=sent.room_id,
                member=sent.member_id,
                policy=sent.policy,
                channel=channel,
            )
            log.info("reminder delivered", extra=ids)

    # -- helpers ---------------------------------------------------------------------------
    def policy_for(self, room: Room) -> Policy | None:
        current = self.policies.current
        policy = current.for_room(room.platform, room.id, room.name, room.aliases)
        if policy is None and room.parent_id is not None:  # threads inherit their channel
            policy = current.for_room(room.platform, room.parent_id, room.parent_name)
        return policy

    def grant_for(self, room: Room, policy: Policy) -> str | None:
        """The role the policy names for posting in ``room`` (a thread: its channel's)."""
        ref = policy.room_ref(room.platform, room.id, room.name, room.aliases)
        if ref is None and room.parent_id is not None:
            ref = policy.room_ref(room.platform, room.parent_id, room.parent_name)
        return ref.agreed_role if ref is not None else None

    def posting(
        self, room: Room, member: Member, allowed: bool, policy: Policy
    ) -> SetPostingAllowed:
        reason = "agreed to the reminder" if allowed else "has not agreed to the current reminder"
        grant = self.grant_for(room, policy)
        return SetPostingAllowed(room, member, allowed, grant, policy=policy.name, reason=reason)

    def is_moderator(self, member: Member, policy: Policy | None) -> bool:
        if (member.platform, member.id) in self._console_moderators:
            return True
        return self.policies.current.is_moderator(member.platform, member.id, policy)

    def prefix(self, platform: str) -> str:
        caps = self.capabilities.get(platform)
        return caps.command_prefix if caps else "/"

    def caps(self, platform: str) -> Capabilities:
        return self.capabilities.get(platform, Capabilities())

    def text_hash_for_checks(self, policy: Policy) -> str | None:
        """The reminder's version (every language's text) to check agreements and reminders
        against; with reask_on_change off, any earlier version counts as reminded/agreed."""
        return policy.reminder_version if policy.reminder.reask_on_change else None

    def alerts_to(self, policies: Iterable[Policy], text: str) -> list[Action]:
        """One alert to each alert room of these policies (once per room)."""
        targets = {(ref.platform, ref.selector[1]) for policy in policies for ref in policy.alerts}
        return [AlertModerators(platform, room, text) for platform, room in sorted(targets)]

    def alerts_for_all(self, text: str) -> list[Action]:
        return self.alerts_per_room(lambda _: text)

    def alerts_per_room(self, text_for: Callable[[list[Policy]], str]) -> list[Action]:
        """One alert per moderators' room, worded for the policies whose alerts go there:
        what concerns one community is told to its own moderators only."""
        rooms: dict[tuple[str, str], list[Policy]] = {}
        for policy in self.policies.current.policies:
            for ref in policy.alerts:
                target = (ref.platform, ref.selector[1])
                rooms.setdefault(target, []).append(policy)
        return [
            AlertModerators(platform, room, text_for(policies))
            for (platform, room), policies in rooms.items()
        ]

    # -- joins and reminders ----------------------------------------------------------------

    # -- posts: agreement gate and periodic reminders -----------------------------------------

    # -- commands ------------------------------------------------------------------------------
    async def _on_command(self, event: CommandInvoked) -> list[Action]:
        if event.invoker.is_bot:
            return []
        actions = await self._command(event)
        spec = self.registry.get(event.name)
        if spec is None or spec.permission is not Permission.MODERATOR:
            return actions  # members' commands (a supporter's /claim too) answer privately
        return self._answer_where_asked(event, actions)

    async def _command(self, event: CommandInvoked) -> list[Action]:
        spec = self.registry.get(event.name) or self.registry.get(
            GROUP_DEFAULTS.get(event.name, "")
        )
        prefix = self.prefix(event.room.platform)
        policy = self.policy_for(event.room)
        if spec is None and (aliased := self._aliased(event, policy)) is not None:
            event = aliased
            spec = self.registry.get(event.name) or self.registry.get(
                GROUP_DEFAULTS.get(event.name, "")
            )
        if spec is None:
            return [self.reply(event, self._unknown_command(event, policy, prefix))]
        if spec.permission is Permission.MODERATOR and not self.is_moderator(event.invoker, policy):
            log.info("refused %s to a non-moderator on %s", spec.name, event.room.platform)
            return [self.reply(event, texts.refused(f"{prefix}{spec.name}"))]
        try:
            args = bind(spec, event.argv, dict(event.options), prefix)
        except UsageError as error:
            return [self.reply(event, str(error))]
        handler = self._command_handlers.get(spec.name)
        if handler is None:
            return [self.reply(event, texts.not_available(f"{prefix}{spec.name}"))]
        return await reminding.with_owed(self, event.invoker, await handler(event, args))

    def command_aliases(self, policy: Policy | None) -> dict[str, str]:
        """Typed word -> declared command word, for text commands said in the current
        language under ``policy`` (``command_aliases``; in a private chat or an uncovered
        room: the policies speaking that language). Empty where no policy allows aliases."""
        scope = [policy] if policy is not None else list(self.policies.current.policies)
        lang = i18n.current()
        table: dict[str, str] = {}
        for each in scope:
            if each.command_aliases is not False and i18n.negotiate(each.language) == lang:
                own = each.command_aliases if isinstance(each.command_aliases, dict) else {}
                words = {word for spec in self.registry for word in spec.words}
                table |= alias_table(lang, words, own)
        return table

    def _aliased(self, event: CommandInvoked, policy: Policy | None) -> CommandInvoked | None:
        """The command typed with the words of the room's language, as declared."""
        table = self.command_aliases(policy)
        found = table and resolve(
            table,
            lambda name: self.registry.get(name) is not None,
            self.registry.is_group,
            event.name,
            event.argv,
        )
        if not found:
            return None
        return dataclasses.replace(event, name=found[0], argv=found[1])

    def _unknown_command(self, event: CommandInvoked, policy: Policy | None, prefix: str) -> str:
        """A word after a group's word that names none of its commands ("/checkin now") is
        refused with the group's usage: neither ignored nor taken for the bare group word,
        which would start a check-in the member did not ask for."""
        group, _, rest = event.name.partition(" ")
        usable = [
            spec
            for spec in self.registry.group(group)
            if spec.permission is Permission.MEMBER or self.is_moderator(event.invoker, policy)
        ]
        if not rest or not usable:
            return texts.unknown_command(event.name, prefix)
        default = GROUP_DEFAULTS.get(group)
        return texts.unknown_in_group(event.name, prefix, usable, default)

    def reply(self, event: CommandInvoked, text: str) -> ReplyToInvoker:
        pointer = None if event.room.is_private_chat else texts.answer_in_private_chat()
        return ReplyToInvoker(event.room, event.invoker, text, event.reply_handle, pointer)

    def is_alert_room_of(self, room: Room, member: Member) -> bool:
        """Whether ``room`` is the moderators' room of a policy ``member`` moderates."""
        return any(
            ref.matches(room.platform, room.id, room.name, room.aliases)
            for policy in self.policies.current.policies
            if self.is_moderator(member, policy)
            for ref in policy.alerts
        )

    def _answer_where_asked(self, event: CommandInvoked, actions: list[Action]) -> list[Action]:
        """A moderator asking in their moderators' room is answered there, where only
        moderators read (the other moderators see the answer too); on a platform with
        ephemeral replies the answer already shows in that room. Anywhere else answers stay
        private (see ReplyToInvoker)."""
        room = event.room
        if self.caps(room.platform).ephemeral_replies or not self.is_alert_room_of(
            room, event.invoker
        ):
            return actions
        return [
            PostToRoom(room, a.text)
            if isinstance(a, ReplyToInvoker) and a.member == event.invoker and a.room == room
            else a
            for a in actions
        ]

    # -- buttons and selects -------------------------------------------------------------------

    # -- standing rules messages -----------------------------------------------------------------

    # -- messages: the agreement gate, then leak flagging ------------------------------------
    async def _on_message(self, event: MessagePosted) -> list[Action]:
        actions = await gating.on_message(self, event)
        if self.leaks is not None:
            held = any(
                isinstance(a, DeleteMessage) and a.message_id == event.message_id for a in actions
            )
            actions += await self.leaks.on_posted(event, held)
        return actions

    async def _on_edited(self, event: MessageEdited) -> list[Action]:
        return await self.leaks.on_edited(event) if self.leaks is not None else []

    async def _on_deleted(self, event: MessageDeleted) -> list[Action]:
        actions = await rules_messages.on_message_deleted(self, event)
        if self.leaks is not None:
            actions += await self.leaks.on_deleted(event)
        return actions

    async def _on_private_reply(self, event: PrivateReply) -> list[Action]:
        """A check-in waiting for the member takes the reply; it is an answer only the
        member sees, so it is not scanned for leaks. A message replayed after a crash (the
        same id again) is taken once: twice, it would answer the next question too."""
        if event.message_id is not None and not await self.store.claim_reply(
            event.room.platform, event.message_id, self.clock.now()
        ):
            log.info("a private message on %s was taken before; ignored", event.room.platform)
            return []
        if await read_gate.agrees_in_reply(self, event):  # "agree" to a read gate's reminder
            agree = CommandInvoked(event.room, event.member, AGREE.name, event.at)
            return await self._command(agree)
        if self.checkins is not None and not event.member.is_bot:
            answered = await self.checkins.on_private(event)
            if answered is not None:
                return answered
        return await self.leaks.on_private(event) if self.leaks is not None else []

    # -- other events ------------------------------------------------------------------------

    async def nothing(self, _: object) -> list[Action]:
        return []


def _policy_language(core: Core, action: object) -> str | None:
    """The language of the policy an action was produced for (a private reminder's
    fallback is said in the room's language), else of the room it acts in."""
    policy = core.policies.current.by_name(getattr(action, "policy", None) or "")
    return policy.language if policy else event_language(core.policies.current, action)


def _reload_failure(result: ReloadResult, everyone: tuple[Policy, ...], here: list[Policy]) -> str:
    """A failed reload as one moderators' room may read it: the errors of their own files
    and of files no community owns yet (a policy being added) in full; another community's
    only counted (they quote its keys and values, but they hold back this room's edits too)."""
    others = {e for policy in everyone if policy not in here for e in result.errors_of(policy)}
    shown = tuple(result.notice(e) for e in result.errors if e not in others)
    return texts.policy_reload_failed(shown, elsewhere=len(result.errors) - len(shown))
