"""Members' private reports to their moderators: ``/report`` and the moderators' ``/answer``.

A member whose words were retold elsewhere (or who is worried about anything in the room)
tells the moderators with one command, and nobody else learns that they did.

Why one command with options rather than a conversation: a distressed member should not
have to keep up a dialogue with a bot, remember where they are in it, or find their words
half-sent after a restart. ``/report`` alone is already a complete report (about the room
they are in); a message link says where, a few words say what, and ``named`` lets the
moderators see who they are. On Discord it is a slash command whose options and answer only
the member sees; on Matrix it works best sent in the member's private chat with the bot,
where nobody else reads it (a ``!report`` typed in a room is seen by the room, as any
message there). The reply says plainly what happened: sent, anonymous or not, words not
kept, and where an answer will come.

What is kept: a row per report with its policy, time and whether the member chose to be
named; the member's id only sealed (to route an answer back) and keyed (for the rate
limit, ``/mydata`` and ``/forgetme``). The member's words go out in the alert and are never
stored; a moderator's answer goes to the member and is never stored either.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any, Protocol

from bot import texts
from bot.actions import Action, AlertModerators, PostToRoom, ReplyToInvoker, SendPrivate
from bot.checkins.sealing import SealBroken, Sealer
from bot.clock import Clock
from bot.events import CommandInvoked, Member, MessageRef, Room
from bot.i18n import N_
from bot.leaks import author_key
from bot.policy import Policy
from bot.policy_holder import PolicyHolder
from bot.ports import Capabilities
from bot.store import Store

log = logging.getLogger("confidant.reports")

Args = dict[str, str | int | None]
WINDOW = timedelta(hours=1)
NAMED_WORDS = frozenset({"named", "name", "yes", "show"})
ANONYMOUS_WORDS = frozenset({"anonymous", "anon", "no"})
_LINK_STARTS = ("http://", "https://", "matrix:")
MAX_WORDS = 1500  # characters of the member's words in an alert (a platform's message limit)


class ReportsHost(Protocol):
    """What reports need from the core, and nothing more."""

    store: Store
    clock: Clock
    policies: PolicyHolder

    def policy_for(self, room: Room) -> Policy | None: ...

    def is_moderator(self, member: Member, policy: Policy | None) -> bool: ...

    def prefix(self, platform: str) -> str: ...

    def reply(self, event: CommandInvoked, text: str) -> ReplyToInvoker: ...

    def caps(self, platform: str) -> Capabilities: ...


def _aad(platform: str) -> str:
    """The sealed member id is bound to its report's id and platform (see sealing.py)."""
    return f"report-member/{platform}"


def read_request(event: CommandInvoked, args: Args) -> tuple[bool, bool, str | None]:
    """(a link was given, named, words) from the command.

    Discord's named options arrive as they are. A text platform gives one line, read
    forgivingly so that a member need not remember an order: ``named`` or ``anonymous`` as
    the first word, a link anywhere, everything else is their words."""
    if not event.argv:
        link = str(args.get("link") or "").strip()
        named = str(args.get("name") or "").strip().lower() in NAMED_WORDS
        words = str(args.get("words") or "").strip()
        return bool(link), named, words or None
    tokens = list(event.argv)
    named = False
    if tokens and tokens[0].lower() in NAMED_WORDS | ANONYMOUS_WORDS:
        named = tokens.pop(0).lower() in NAMED_WORDS
    links = [t for t in tokens if t.lower().startswith(_LINK_STARTS)]
    words = " ".join(t for t in tokens if t not in links).strip()
    return bool(links), named, words or None


class Reports:
    def __init__(self, host: ReportsHost, deployment_key: bytes) -> None:
        self.host = host
        self._key = deployment_key
        self.sealer = Sealer(deployment_key)

    def member_key(self, platform: str, member_id: str) -> bytes:
        return author_key(self._key, platform, member_id)

    # -- the member ----------------------------------------------------------------------
    async def cmd_report(self, event: CommandInvoked, args: Args) -> list[Action]:
        host, who = self.host, event.invoker
        prefix = host.prefix(event.room.platform)
        link_given, named, words = read_request(event, args)
        about: MessageRef | None = event.links[0] if event.links else None
        if about is None and link_given:
            return [host.reply(event, texts.report_bad_link(prefix))]
        if about is None and not event.room.is_private_chat:
            room = event.room
            about = MessageRef(room.platform, room.id, None, parent_id=room.parent_id)
        policy = await self._covering(event, about)
        if policy is None or not policy.alerts:
            return [host.reply(event, texts.report_nobody(prefix))]
        if not policy.reports.enabled:
            return [host.reply(event, texts.report_off())]
        now = host.clock.now()
        key = self.member_key(who.platform, who.id)
        limit = policy.reports.per_hour
        if await host.store.count_member_reports_since(key, now - WINDOW) >= limit:
            oldest = await host.store.oldest_member_report_since(key, now - WINDOW)
            wait = (oldest + WINDOW - now) if oldest is not None else WINDOW
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            log.info("a report on %s was over the member's limit", who.platform)
            return [host.reply(event, texts.report_limited(limit, minutes))]
        room = event.room
        report_id = await host.store.add_member_report(
            who.platform,
            policy.name,
            key,
            named,
            now,
            lambda rid: self.sealer.seal(rid, _aad(who.platform), who.id),
            room_id=(room.parent_id or room.id) if named and not room.is_private_chat else None,
        )
        actor = who.id if named else "(anonymous member)"
        await host.store.audit(
            who.platform, actor, "report.made", f"report {report_id}", now, policy=policy.name
        )
        log.info("report %d made on %s for policy %s", report_id, who.platform, policy.name)
        label = self._where_label(event, about)
        where = texts.report_where(label, about is not None and about.message_id is not None)
        shown = f"{who.platform} user {who.id}"
        if who.display_name:
            shown = f"{who.display_name} ({shown})"
        alerts: list[Action] = [
            AlertModerators(
                platform,
                selector,
                texts.report_alert(
                    report_id,
                    shown if named else None,
                    words[:MAX_WORDS] if words else None,
                    where,
                    host.prefix(platform),
                ),
                about=about,
                about_label=N_("Where"),
                concerns=who,
            )
            for platform, selector in sorted({(r.platform, r.selector[1]) for r in policy.alerts})
        ]
        thanks = texts.report_sent(report_id, named, prefix)
        if not event.room.is_private_chat and not host.caps(room.platform).ephemeral_replies:
            thanks += "\n\n" + texts.report_seen_in_room(prefix)  # a Matrix room saw the line
        return [host.reply(event, thanks), *alerts]

    async def _covering(self, event: CommandInvoked, about: MessageRef | None) -> Policy | None:
        """The moderators to tell: those of the room pointed at, else of the room the
        command came from, else (a private chat, a room nobody covers) of the one community
        on this platform the member was reminded of."""
        host, who = self.host, event.invoker
        if about is not None:
            for room in await self._rooms_for(about):
                policy = host.policy_for(room)
                if policy is not None:
                    return policy
        if not event.room.is_private_chat:
            policy = host.policy_for(event.room)
            if policy is not None:
                return policy
        current = host.policies.current
        names = await host.store.policies_reminded(who.platform, who.id)
        mine = [p for p in (current.by_name(n) for n in names) if p is not None]
        if len(mine) == 1:
            return mine[0]
        here = [p for p in current.policies if any(r.platform == who.platform for r in p.rooms)]
        return here[0] if len(here) == 1 and not mine else None

    async def _rooms_for(self, ref: MessageRef) -> list[Room]:
        """The room a reference points into, with the name the store knows (policies may
        select rooms by name), and its parent channel for a thread."""
        rooms = [Room(ref.platform, ref.room_id, aliases=(ref.room_id,))]
        for state in await self.host.store.room_states():
            if state.platform == ref.platform and state.room_id == ref.room_id:
                rooms.insert(0, Room(state.platform, state.room_id, state.room_name))
        if ref.parent_id is not None:
            rooms.append(Room(ref.platform, ref.parent_id))
        return rooms

    def _where_label(self, event: CommandInvoked, about: MessageRef | None) -> str | None:
        if about is None:
            return None
        if about.room_id == event.room.id:
            return event.room.label
        return about.room_id

    # -- the moderators --------------------------------------------------------------------
    async def cmd_answer(self, event: CommandInvoked, args: Args) -> list[Action]:
        """The answer goes to the member's private chat. Where the platform refuses it:

        - a named report, under a policy whose fallback is ``private_thread``, is answered
          in a private thread with the member in the room they reported from (moderators
          who manage threads can see it; they know who reported anyway);
        - otherwise, and if that is refused too, the moderators' room is told it was not
          delivered, and nothing else happens. Never a room mention (everyone would see who
          reported), never a thread for an anonymous report (its member would be named).

        So the moderator never believes an answer arrived that did not."""
        host = self.host
        report_id = int(args["id"] or 0)
        answer = str(args.get("text") or "").strip()
        report = await host.store.member_report(report_id)
        policy = host.policies.current.by_name(report.policy) if report is not None else None
        if report is None or policy is None or not host.is_moderator(event.invoker, policy):
            return [host.reply(event, texts.report_unknown(report_id))]
        try:
            member_id = self.sealer.open(report.id, _aad(report.platform), report.member_sealed)
        except SealBroken:
            log.warning("report %d: the member's sealed id did not open", report.id)
            return [host.reply(event, texts.report_unknown(report_id))]
        if not isinstance(member_id, str):
            return [host.reply(event, texts.report_unknown(report_id))]
        now = host.clock.now()
        await host.store.member_report_answered(report.id, now)
        await host.store.audit(
            event.invoker.platform,
            event.invoker.id,
            "report.answered",
            f"report {report.id}",
            now,
            policy=policy.name,
        )
        undelivered = tuple(
            AlertModerators(
                platform,
                selector,
                texts.report_answer_undelivered(report.id, host.prefix(platform)),
            )
            for platform, selector in sorted({(r.platform, r.selector[1]) for r in policy.alerts})
        )
        member = Member(report.platform, member_id)
        text = texts.report_answer_to_member(report.id, answer)
        thread: tuple[Action, ...] = ()
        if report.named and report.room_id and policy.reminder.fallback == "private_thread":
            room = Room(report.platform, report.room_id)
            thread = (PostToRoom(room, text, mention=member, private_thread=True),)
        to_member = SendPrivate(member, text, fallback=(*thread, *undelivered))
        sending = texts.report_answer_sending(report.id, thread=bool(thread))
        return [host.reply(event, sending), to_member]

    # -- a member's data rights ------------------------------------------------------------
    async def export(self, platform: str, member_id: str) -> list[dict[str, Any]]:
        """For /mydata: the member's reports as kept (no words were kept)."""
        return [
            {
                "id": r.id,
                "policy": r.policy,
                "named": r.named,
                "room_id": r.room_id,
                "made_at": r.made_at.isoformat(),
                "answers": r.answers,
                "last_answered_at": r.answered_at.isoformat() if r.answered_at else None,
            }
            for r in await self.host.store.member_reports_of(self.member_key(platform, member_id))
        ]

    async def erase(self, platform: str, member_id: str) -> int:
        """For /forgetme: the reports go; an answer to one of them reaches nobody after."""
        return await self.host.store.erase_member_reports(self.member_key(platform, member_id))
