"""The check-in conversation: consent, questions one by one, crisis resources, and a peer
supporter only after the member's yes.

The state of a conversation is the ``checkins`` row (question number and what a reply
answers), and every answer is committed as it comes: a restart loses nothing and resumes
where the member was. Only the wait for consent is kept in memory, because declining must
leave no trace; after a restart the member simply runs the command again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.actions import Action, AlertModerators, Button, Option, Select, SendPrivate
from bot.checkins import questions as q
from bot.checkins import words
from bot.checkins.sealing import Answer, Sealer
from bot.events import ChoiceMade, CommandInvoked, Member, PrivateReply, Room
from bot.identifiers import CHOICE_PREFIX
from bot.logs import fields
from bot.policy.model import CheckinsSpec, Policy
from bot.private_answers import confirmed
from bot.store.rows import Checkin

if TYPE_CHECKING:
    from bot.core import Core
    from bot.jobs import PlatformCheck

log = logging.getLogger("confidant.checkins")

CHECKIN_CHOICE = CHOICE_PREFIX + "checkin:"
AGREE_WORDS = ("agree", "i agree", "yes", "y", "1")
DECLINE_WORDS = ("decline", "no", "n", "2")
MAX_BUTTONS = 5
UNSENT = "unsent"
"""A check-in opened for a scheduled fire whose messages never reached the member."""
CONSENT_CHOICES = ("agree", "decline")
YES_NO = ("yes", "no")


def _ids(event: str, checkin: Checkin, **more: object) -> dict[str, object]:
    """A check-in's log fields: its id and platform, no member id (see _begin)."""
    return fields(event, checkin=checkin.id, platform=checkin.platform, **more)


def member_label(platform: str, member_id: str) -> str:
    return words.member_label(platform, member_id)


class Checkins:
    """One per core; the core forwards /checkin, private replies, choices and ticks."""

    def __init__(self, core: Core, key: bytes) -> None:
        self.core = core
        self.sealer = Sealer(key)
        # Which policy's intro awaits a member's agree/decline is kept in the store
        # (``ask_checkin_consent``): their reply may reach another process (a sharded Discord
        # bot gets direct messages on shard 0 only) or this one after a restart.
        self._purged_day: int | None = None

    # -- which policy -------------------------------------------------------------------
    def spec(self, policy_name: str) -> CheckinsSpec | None:
        policy = self.core.policies.current.by_name(policy_name)
        if policy is None or policy.checkins is None or not policy.checkins.enabled:
            return None
        return policy.checkins

    async def policy_for(self, room: Room, member: Member) -> Policy | None:
        """The room's policy; from a private chat, the one policy with check-ins or the one
        whose rooms the member was reminded in."""
        policy = self.core.policy_for(room)
        if policy is not None and not room.is_private_chat:
            return policy if self.spec(policy.name) else None
        candidates = [p for p in self.core.policies.current.policies if self.spec(p.name)]
        if len(candidates) == 1:
            return candidates[0]
        reminded = set(await self.core.store.policies_reminded(member.platform, member.id))
        return next((p for p in candidates if p.name in reminded), None)

    # -- saying things privately -----------------------------------------------------------
    def _say(self, member: Member, text: str, choices: tuple[str, ...] = ()) -> SendPrivate:
        """Buttons or a select where the platform has them, numbered text everywhere else
        (the text always lists the choices). Always a private message: a check-in started
        in a room, on a schedule or after a restart reaches the member's private chat with
        the same buttons as one started there."""
        if not (choices and self.core.caps(member.platform).buttons):
            return SendPrivate(member, text)
        ids = [f"{CHECKIN_CHOICE}{member.id}:{value}" for value in choices]
        if len(choices) <= MAX_BUTTONS:
            labels = [words.reply_word(c) for c in choices]
            buttons = tuple(Button(i, c) for i, c in zip(ids, labels, strict=True))
            return SendPrivate(member, text, buttons=buttons)
        opts = tuple(Option(c, words.reply_word(c)) for c in choices)
        return SendPrivate(member, text, select=Select(f"{CHECKIN_CHOICE}{member.id}", opts))

    def _ask(self, checkin: Checkin, spec: CheckinsSpec, member: Member) -> list[Action]:
        if checkin.awaiting == "contact":
            return [self._say(member, words.offer_contact(), YES_NO)]
        if checkin.awaiting == "share":
            return [self._say(member, words.offer_share(), YES_NO)]
        question = spec.questions[checkin.step]
        labels = tuple(label for _, label in q.options(question))
        text = words.question(checkin.step + 1, len(spec.questions), question.prompt, labels)
        values = tuple(value for value, _ in q.options(question))
        return [self._say(member, text, (*values, "skip", "stop") if values else ())]

    # -- /checkin -----------------------------------------------------------------------------
    async def start(self, event: CommandInvoked) -> list[Action]:
        """The pointer to the private chat ("your check-in continues there") is said only
        once the first private message was delivered (see bot.private_answers)."""
        member, prefix = event.invoker, self.core.prefix(event.room.platform)
        said = words.continues_privately()
        checkin = await self._current(member, event.at)
        if checkin is not None:
            spec = self.spec(checkin.policy)
            assert spec is not None  # _current closes check-ins whose policy went away
            asked = [SendPrivate(member, words.already_open()), *self._ask(checkin, spec, member)]
            return confirmed(self.core, event, asked, said)
        policy = await self.policy_for(event.room, member)
        spec = self.spec(policy.name) if policy is not None else None
        if policy is None or spec is None:
            return [self.core.reply(event, words.not_set_up(prefix))]
        consent = await self.core.store.checkin_consent(member.platform, member.id, policy.name)
        if consent != spec.intro_hash:
            await self.core.store.ask_checkin_consent(
                member.platform, member.id, policy.name, event.at
            )
            intro = self._say(member, words.intro(spec, prefix), CONSENT_CHOICES)
            return confirmed(self.core, event, [intro], said)
        begun = await self._begin(member, policy.name, spec, event.at)
        return confirmed(self.core, event, begun, said)

    async def start_scheduled(self, member: Member, policy: str, at: datetime) -> list[Action]:
        """A schedule's check-in, as /checkin from the private chat would start it; one the
        member has open already is left alone rather than interrupted."""
        spec = self.spec(policy)
        if spec is None or await self._current(member, at) is not None:
            return []
        prefix = self.core.prefix(member.platform)
        actions: list[Action] = [SendPrivate(member, words.scheduled_start())]
        consent = await self.core.store.checkin_consent(member.platform, member.id, policy)
        if consent != spec.intro_hash:
            await self.core.store.ask_checkin_consent(member.platform, member.id, policy, at)
            return [*actions, self._say(member, words.intro(spec, prefix), CONSENT_CHOICES)]
        return actions + await self._begin(member, policy, spec, at)

    async def discard_unsent(self, member: Member, fire: datetime) -> None:
        """The check-in a scheduled fire opened, when none of its messages went out: closed
        as ``unsent`` (no answers; not shown in the member's history) so the fire's retry
        opens it afresh instead of finding it open."""
        checkin = await self.core.store.open_checkin(member.platform, member.id)
        if checkin is not None and checkin.started_at >= fire and checkin.step == 0:
            await self.core.store.end_checkin(checkin.id, UNSENT, self.core.clock.now())
        await self.core.store.forget_checkin_consent_asked(member.platform, member.id)

    async def _begin(
        self, member: Member, policy: str, spec: CheckinsSpec, at: datetime
    ) -> list[Action]:
        checkin = await self.core.store.start_checkin(member.platform, member.id, policy, at)
        # Check-in log lines name the check-in, never the member: who checks in is for
        # the member alone (moderators see counts), and the log is read by admins.
        log.info(
            "check-in %d started on %s",
            checkin.id,
            member.platform,
            extra=fields("checkin_started", checkin=checkin.id, platform=member.platform),
        )
        self.core.metrics.count("checkin_started")
        return self._ask(checkin, spec, member)

    async def _current(self, member: Member, at: datetime) -> Checkin | None:
        """The member's open check-in, unless it timed out or its policy went away."""
        checkin = await self.core.store.open_checkin(member.platform, member.id)
        if checkin is None:
            return None
        spec = self.spec(checkin.policy)
        if spec is None:
            await self.core.store.end_checkin(checkin.id, "stopped", at)
            return None
        if at - checkin.updated_at >= timedelta(minutes=spec.timeout_minutes):
            return None  # the caller's tick or reply closes it with the member told
        return checkin

    # -- replies ------------------------------------------------------------------------------
    async def on_private(self, event: PrivateReply) -> list[Action] | None:
        """The answer to a private message, or None when no check-in is waiting for it."""
        return await self._reply(event.member, event.text, event.at)

    async def on_choice(self, event: ChoiceMade) -> list[Action]:
        """A button or select of a check-in: the same as typing the value."""
        rest, mine = event.choice_id[len(CHECKIN_CHOICE) :], event.member.id
        if event.values and rest == mine:
            value = event.values[0]
        elif not event.values and rest.startswith(mine + ":"):
            value = rest[len(mine) + 1 :]
        else:
            return []  # someone else's buttons: ids name the member they were made for
        return await self._reply(event.member, value, event.at) or []

    async def _reply(self, member: Member, text: str, at: datetime) -> list[Action] | None:
        asked = await self.core.store.checkin_consent_asked(member.platform, member.id)
        if asked is not None:
            return await self._consent_reply(member, asked, text, at)
        checkin = await self.core.store.open_checkin(member.platform, member.id)
        if checkin is None:
            return None
        spec = self.spec(checkin.policy)
        if spec is None:
            await self.core.store.end_checkin(checkin.id, "stopped", at)
            return [SendPrivate(member, words.stopped())]
        if at - checkin.updated_at >= timedelta(minutes=spec.timeout_minutes):
            return await self._time_out(checkin, spec, at)
        said = words.canonical(text).strip().casefold()
        if said == "stop":
            await self.core.store.end_checkin(checkin.id, "stopped", at)
            log.info("check-in %d stopped", checkin.id, extra=_ids("checkin_stopped", checkin))
            return [SendPrivate(member, words.stopped())]
        if checkin.awaiting == "contact":
            return await self._contact_reply(checkin, spec, member, said, at)
        if checkin.awaiting == "share":
            return await self._share_reply(checkin, spec, member, said, at)
        return await self._answer(checkin, spec, member, text, at)

    async def _consent_reply(
        self, member: Member, policy: str, text: str, at: datetime
    ) -> list[Action]:
        said = words.canonical(text).strip().casefold()
        spec = self.spec(policy)
        store = self.core.store
        if said in DECLINE_WORDS or said == "stop" or spec is None:
            await store.forget_checkin_consent_asked(member.platform, member.id)
            return [SendPrivate(member, words.declined())]
        if said not in AGREE_WORDS:
            return [SendPrivate(member, words.consent_unclear())]
        await store.forget_checkin_consent_asked(member.platform, member.id)
        await self.core.store.record_checkin_consent(
            member.platform, member.id, policy, spec.intro_hash, at
        )
        return await self._begin(member, policy, spec, at)

    async def _answer(
        self, checkin: Checkin, spec: CheckinsSpec, member: Member, text: str, at: datetime
    ) -> list[Action]:
        question = spec.questions[checkin.step]
        said = words.canonical(text)
        skipped = said.strip().casefold() == "skip"
        answer: Answer | None = None if skipped else q.parse(
            question, said if question.kind == "yesno" else text
        )
        crisis = q.keyword_hit(spec.crisis, text)
        if answer is None and not skipped:
            if crisis:  # words that matter even when they answer nothing
                return await self._crisis(checkin, spec, member, at, resume=False)
            return [SendPrivate(member, words.not_understood())]
        sealed = None if answer is None else self.sealer.seal(checkin.id, question.id, answer)
        await self.core.store.save_answer(checkin.id, question.id, sealed, at, checkin.step + 1)
        if answer is not None and q.threshold_hit(spec.crisis, question, answer):
            crisis = True
        checkin = await self._reload(checkin)
        if crisis:
            return await self._crisis(checkin, spec, member, at, resume=True)
        return await self._next(checkin, spec, member, at)

    async def _next(
        self, checkin: Checkin, spec: CheckinsSpec, member: Member, at: datetime
    ) -> list[Action]:
        if checkin.step >= len(spec.questions):
            await self.core.store.end_checkin(checkin.id, "complete", at)
            log.info("check-in %d complete", checkin.id, extra=_ids("checkin_completed", checkin))
            self.core.metrics.count("checkin_completed")
            return [SendPrivate(member, words.finished(self.core.prefix(member.platform)))]
        return self._ask(checkin, spec, member)

    async def _reload(self, checkin: Checkin) -> Checkin:
        fresh = await self.core.store.checkin(checkin.id)
        assert fresh is not None
        return fresh

    # -- crisis and contact ----------------------------------------------------------------
    async def _crisis(
        self, checkin: Checkin, spec: CheckinsSpec, member: Member, at: datetime, resume: bool
    ) -> list[Action]:
        """Resources at once; then a supporter by the duty-to-warn rule (the member told)
        or, once per check-in, the offer of one that only a yes turns into a request."""
        store = self.core.store
        actions: list[Action] = [SendPrivate(member, words.resources(spec.crisis.resources))]
        first = not checkin.crisis_shown
        await store.update_checkin(checkin.id, at, crisis_shown=True)
        if first and spec.duty_to_warn and spec.supporters_room is not None:
            actions.append(SendPrivate(member, words.duty_to_warn_applies(spec.duty_to_warn)))
            actions += await self._escalate(checkin, spec, member, at, "duty_to_warn", False)
        elif first and self._supporters_reachable(spec) and not checkin.asked_contact:
            await store.update_checkin(checkin.id, at, awaiting="contact")
            return [*actions, self._say(member, words.offer_contact(), YES_NO)]
        checkin = await self._reload(checkin)
        if not resume:
            return [*actions, *self._ask(checkin, spec, member)]
        return actions + await self._next(checkin, spec, member, at)

    def _supporters_reachable(self, spec: CheckinsSpec) -> bool:
        """Contact is offered only where a request can reach the supporters: a supporters'
        room on a platform this run has no adapter for (a Matrix room while only the console
        runs) would make the promise to the member an empty one."""
        room = spec.supporters_room
        return room is not None and room.platform in self.core.capabilities

    async def _contact_reply(
        self, checkin: Checkin, spec: CheckinsSpec, member: Member, said: str, at: datetime
    ) -> list[Action]:
        answer = q.parse(q.YESNO, said) if said != "skip" else "no"
        if answer is None:
            return [self._say(member, words.offer_contact(), YES_NO)]
        if answer == "yes":
            await self.core.store.update_checkin(checkin.id, at, awaiting="share")
            return [self._say(member, words.offer_share(), YES_NO)]
        await self.core.store.update_checkin(checkin.id, at, awaiting="question")
        checkin = await self._reload(checkin)
        return [SendPrivate(member, words.contact_declined()),
                *await self._next(checkin, spec, member, at)]

    async def _share_reply(
        self, checkin: Checkin, spec: CheckinsSpec, member: Member, said: str, at: datetime
    ) -> list[Action]:
        answer = q.parse(q.YESNO, said) if said != "skip" else "no"
        if answer is None:
            return [self._say(member, words.offer_share(), YES_NO)]
        actions = await self._escalate(checkin, spec, member, at, "asked", answer == "yes")
        await self.core.store.update_checkin(checkin.id, at, awaiting="question")
        checkin = await self._reload(checkin)
        return actions + await self._next(checkin, spec, member, at)

    async def _escalate(
        self,
        checkin: Checkin,
        spec: CheckinsSpec,
        member: Member,
        at: datetime,
        reason: str,
        shared: bool,
    ) -> list[Action]:
        room = spec.supporters_room
        assert room is not None
        store = self.core.store
        request = await store.add_escalation(
            checkin.id, member.platform, member.id, checkin.policy, reason, shared, at
        )
        await store.update_checkin(checkin.id, at, asked_contact=True)
        log.info(
            "check-in %d: contact request %d (%s)",
            checkin.id,
            request,
            reason,
            extra=_ids("checkin_contact_requested", checkin, request=request, reason=reason),
        )
        lines = await self.answer_lines(checkin, spec) if shared else []
        text = words.supporters_request(
            request,
            member_label(member.platform, member.id),
            lines,
            self.core.prefix(room.platform),
            duty=reason == "duty_to_warn",
        )
        target = room.id or room.alias or room.name or ""
        actions: list[Action] = [AlertModerators(room.platform, target, text, concerns=member)]
        if reason != "duty_to_warn":
            actions.append(SendPrivate(member, words.contact_requested(request, shared)))
        return actions

    async def answer_lines(self, checkin: Checkin, spec: CheckinsSpec | None) -> list[str]:
        """The member's answers in words, for the member (history, export) or for the
        supporters when the member chose to share them."""
        by_id = {question.id: question for question in spec.questions} if spec else {}
        lines = []
        for row in await self.core.store.checkin_answers(checkin.id):
            question = by_id.get(row.question_id)
            label = question.prompt if question else row.question_id
            if row.sealed is None:
                lines.append(words.answer_skipped(label))
                continue
            answer = self.sealer.open(checkin.id, row.question_id, row.sealed)
            lines.append(f"{label} {q.shown(question, answer) if question else answer}")
        return lines

    # -- time ---------------------------------------------------------------------------------
    async def _time_out(self, checkin: Checkin, spec: CheckinsSpec, at: datetime) -> list[Action]:
        if not await self.core.store.end_checkin(checkin.id, "timed_out", at):
            return []
        log.info("check-in %d timed out", checkin.id, extra=_ids("checkin_timed_out", checkin))
        member = Member(checkin.platform, checkin.member_id)
        return [SendPrivate(member, words.timed_out(spec.timeout_minutes))]

    async def tick(self, mine: PlatformCheck | None = None, purge: bool = True) -> list[Action]:
        """Close check-ins left silent past the policy's timeout; daily retention purge.
        With several processes (bot/jobs.py), only the check-ins of the platforms whose
        private messages are this process's (``mine``), and the purge where ``purge``."""
        now = self.core.clock.now()
        actions: list[Action] = []
        for checkin in await self.core.store.open_checkins():
            if mine is not None and not await mine(checkin.platform):
                continue
            spec = self.spec(checkin.policy)
            if spec is None:
                await self.core.store.end_checkin(checkin.id, "stopped", now)
            elif now - checkin.updated_at >= timedelta(minutes=spec.timeout_minutes):
                actions += await self._time_out(checkin, spec, now)
        day = now.toordinal()
        if purge and self._purged_day != day:
            self._purged_day = day
            for policy in self.core.policies.current.policies:
                if policy.checkins is not None:
                    cutoff = now - timedelta(days=policy.checkins.retention_days)
                    await self.core.store.purge_checkins(policy.name, cutoff)
        return actions

    async def startup(self, mine: PlatformCheck | None = None) -> list[Action]:
        """After a restart: every open check-in either resumes (its question asked again)
        or, if it went silent past the timeout meanwhile, closes with what it has. With
        several processes (bot/jobs.py), those of the platforms whose private messages
        are this process's (``mine``)."""
        actions = await self.tick(mine=mine, purge=mine is None)
        for checkin in await self.core.store.open_checkins():
            if mine is not None and not await mine(checkin.platform):
                continue
            spec = self.spec(checkin.policy)
            if spec is None or not self.core.caps(checkin.platform).private_messages_arrive:
                continue  # another process holds this platform's private chats
            member = Member(checkin.platform, checkin.member_id)
            actions.append(SendPrivate(member, words.resumed()))
            actions += self._ask(checkin, spec, member)
        return actions
