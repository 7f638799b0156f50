"""Leak flagging wired into the core: fingerprint confidential rooms, flag copies elsewhere.

Messages in a confidential room are fingerprinted and stored (keyed hashes only); every
other message the bot sees is checked for structural signals and quotes. A suspected copy
becomes one flag per copy and source room, and the policy of the source room decides what
follows: an alert to its moderators, a private reminder to the poster, removing the copy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import i18n, repeat_flags, texts
from bot.actions import Action, AlertModerators, DeleteMessage, SendPrivate
from bot.events import (
    Member,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    MessageRef,
    PrivateReply,
    Room,
)
from bot.leaks import Fingerprints, author_key
from bot.leaks_flow.detect import (
    Suspicion,
    quotes,
    stream_quotes,
    strongest,
    structural,
    with_stream,
)
from bot.leaks_flow.engines import Engines, day_number, room_key, scheme_of, stored_params
from bot.leaks_flow.held import HeldCopies
from bot.leaks_flow.stream import Joined, StreamTails, junction_fingerprints
from bot.leaks_flow.sync import IndexSync
from bot.logs import fields
from bot.policy.model import LeaksSpec, Policy
from bot.store.sqlite import LeakFlag, StoredFingerprint

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger("confidant.leaks")

DEFAULT_RETENTION_DAYS = LeaksSpec().retention_days


class LeakWatch:
    """Owns the leak indexes for one core; the core forwards messages, edits and deletes."""

    def __init__(self, core: Core, key: bytes) -> None:
        self.core = core
        self.engines = Engines(key, core.store)
        self.held = HeldCopies(core.store, key)
        # Fingerprints other processes on the same store wrote, read before checks.
        self.sync = IndexSync(self.engines)
        self._key = key
        # When each poster was last reminded of a flag: several copies posted within
        # minutes get one reminder, not one per flag (see _remind_poster_due).
        self._posters_reminded: dict[tuple[str, str], datetime] = {}
        self._purged_day: int | None = None
        # The last words of each member's recent messages per room, in memory only, for
        # quotes split over several messages (see bot/leaks_flow/stream.py).
        self.streams = StreamTails(timedelta(0))

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """At start: retention first, then the index from what is left."""
        await self.purge(force_load=True)

    async def load(self) -> None:
        position = await self.core.store.fingerprint_position()  # before: none is missed
        rows = await self.core.store.count_fingerprints()
        loaded = await self.engines.load(self.core.policies.current.policies)
        self.sync.start_at(position, rows)
        log.info("leak index loaded: %d postings in %d schemes", loaded, len(self.engines.engines))

    async def policies_changed(self) -> None:
        if self.engines.needs_load(self.core.policies.current.policies):
            await self.load()

    async def tick(self) -> None:
        """Held copies whose review time is up, at every tick; once a day: retention
        purge and compaction of the in-memory index."""
        await self.held.purge(self.core.clock.now())
        await self.sync.if_due()
        self.streams.window = self._stream_window()
        self.streams.sweep(self.core.clock.now())
        if self._purged_day != day_number(self.core.clock.now()):
            await self.purge()

    async def purge(self, force_load: bool = False) -> int:
        today = day_number(self.core.clock.now())
        policies = self.core.policies.current.policies
        cutoffs = {p.name: today - p.leaks.retention_days for p in policies}
        removed = await self.core.store.purge_fingerprints(cutoffs, today - DEFAULT_RETENTION_DAYS)
        self._purged_day = today
        if (
            force_load
            or removed
            or self.engines.stale
            or self.engines.needs_load(policies)
            or await self.sync.rows_deleted()  # by another process (its purge, deletes)
        ):
            await self.load()
        if removed:
            log.info("leak retention purge removed %d fingerprints", removed)
        return removed

    async def erase_member(self, platform: str, user_id: str) -> int:
        """An erase request: every fingerprint of the member's messages, store and index."""
        author = author_key(self._key, platform, user_id)
        removed = await self.core.store.delete_author_fingerprints(author)
        self.engines.remove_author(author)
        self.streams.forget_author(author)  # the words of their last messages, in memory
        await self.core.store.delete_author_confirmed_flags(author)  # repeat-leaker history
        return removed

    def author(self, member: Member) -> bytes:
        """The member's keyed hash: how fingerprints and confirmed flags name them."""
        return author_key(self._key, member.platform, member.id)

    # -- events -------------------------------------------------------------------------
    def covered(self, room: Room) -> Policy | None:
        """The policy that makes ``room`` confidential for leak purposes, if any."""
        if room.is_private_chat:
            return None
        policy = self.core.policy_for(room)
        return policy if policy is not None and policy.leaks.enabled else None

    def moderators_room(self, room: Room) -> bool:
        """An alert room or supporters' room (a thread: its channel's): never scanned as
        "outside", since discussing what members disclosed is the moderators' work."""
        current = self.core.policies.current
        if current.is_moderators_room(room.platform, room.id, room.name, room.aliases):
            return True
        return room.parent_id is not None and current.is_moderators_room(
            room.platform, room.parent_id, room.parent_name
        )

    def _not_moderators_work(
        self, found: list[Suspicion], poster: Member, relayed: bool
    ) -> list[Suspicion]:
        """A moderator of the source room's policy retelling it is left alone unless that
        policy says ``scan_moderators``. A relay's post is nobody's in particular: kept."""
        if relayed:
            return found
        return [
            s
            for s in found
            if s.policy.leaks.scan_moderators or not self.core.is_moderator(poster, s.policy)
        ]

    def _scans_private(self) -> bool:
        return any(
            p.leaks.enabled and p.leaks.scan_private_messages
            for p in self.core.policies.current.policies
        )

    async def on_posted(self, event: MessagePosted, held: bool) -> list[Action]:
        """``held``: the agreement gate removed the post, so nobody saw it. A relayed post
        (a proxy's webhook) is a member's words: fingerprinted and checked like any other."""
        if (event.author.is_bot and not event.relayed) or held:
            return []
        room = event.room
        if room.is_private_chat and not self._scans_private():
            return []
        policy = self.covered(room)
        author = author_key(self._key, event.author.platform, event.author.id)
        if self.moderators_room(room):
            if policy is not None:  # a supporters' room a policy also covers
                await self._index(room, event.message_id, author, event.text, policy, event.at)
            return []
        refs: list[tuple[str, MessageRef]] = []
        if event.forward_of is not None:
            refs.append(("forward", event.forward_of))
        refs += [("link", ref) for ref in event.links]
        if event.reply_to is not None:
            refs.append(("reply", event.reply_to))
        await self.sync.if_due()
        found = structural(refs, room, self.engines, self.covered)
        if room.is_private_chat:
            found = [s for s in found if s.policy.leaks.scan_private_messages]
        found += await quotes(
            event.text, room, author, self.engines, self.covered, room.is_private_chat
        )
        joined = self._join(room, author, event.message_id, event.text, event.at)
        if joined is not None:
            found = with_stream(
                found,
                await stream_quotes(
                    joined, room, author, self.engines, self.covered, room.is_private_chat
                ),
            )
        found = self._not_moderators_work(found, event.author, event.relayed)
        poster = _poster(event.author, event.relayed)
        found, continued = await self._continuing(found, joined)
        raised: dict[str, int] = {}
        actions = await self._flag(
            room, event.message_id, poster, found, event.at, text=event.text, raised=raised
        )
        for suspicion, flag in continued:
            actions += await self._add_part(flag, room, event.message_id, poster, suspicion)
        for source, flag_id in raised.items():  # a later part joins this flag
            self.streams.mark_flagged(_stream_key(room), author, source, flag_id)
        if policy is not None:
            await self._index(room, event.message_id, author, event.text, policy, event.at, joined)
        return actions

    async def on_private(self, event: PrivateReply) -> list[Action]:
        """A private message to the bot; checked only where a policy asks for it."""
        if event.member.is_bot or not self._scans_private():
            return []
        author = author_key(self._key, event.member.platform, event.member.id)
        await self.sync.if_due()
        found = await quotes(event.text, event.room, author, self.engines, self.covered, True)
        found = self._not_moderators_work(found, event.member, False)
        message_id = f"private message at {event.at.isoformat(timespec='seconds')}"
        return await self._flag(event.room, message_id, event.member, found, event.at)

    async def on_edited(self, event: MessageEdited) -> list[Action]:
        """Re-fingerprint an edited confidential message; re-check an edited copy, for
        quotes and for links into a confidential room the edit may have added."""
        if event.author.is_bot and not event.relayed:
            return []
        room = event.room
        author = author_key(self._key, event.author.platform, event.author.id)
        policy = self.covered(room)
        if policy is not None:
            await self._forget(room, event.message_id)
            await self._index(room, event.message_id, author, event.text, policy, event.at)
        if (room.is_private_chat and not self._scans_private()) or self.moderators_room(room):
            return []
        await self.sync.if_due()
        found = structural(
            [("link", ref) for ref in event.links], room, self.engines, self.covered
        )
        if room.is_private_chat:
            found = [s for s in found if s.policy.leaks.scan_private_messages]
        found += await quotes(
            event.text, room, author, self.engines, self.covered, room.is_private_chat
        )
        found = self._not_moderators_work(found, event.author, event.relayed)
        actions = await self._flag(
            room,
            event.message_id,
            _poster(event.author, event.relayed),
            found,
            event.at,
            copy_state="edited",
            text=event.text,
        )
        await self.core.store.set_copy_state(
            room.platform, room.id, event.message_id, "edited", event.at
        )
        return actions

    async def on_deleted(self, event: MessageDeleted) -> list[Action]:
        room = event.room
        if self.covered(room) is not None:
            await self._forget(room, event.message_id)
        await self.core.store.set_copy_state(
            room.platform, room.id, event.message_id, "deleted", event.at
        )
        return []

    # -- streams ----------------------------------------------------------------------------
    def _stream_window(self) -> timedelta:
        """The longest window any policy reads a member's messages together in."""
        policies = self.core.policies.current.policies
        minutes = max((p.leaks.stream_minutes for p in policies if p.leaks.enabled), default=0.0)
        return timedelta(minutes=minutes)

    def _join(
        self, room: Room, author: bytes, message_id: str, text: str, at: datetime
    ) -> Joined | None:
        """The message read after its author's last words here, if they were recent."""
        window = self._stream_window()
        engines = self.engines.engines.values()
        if window <= timedelta(0) or not engines:
            return None
        self.streams.window = window
        longest = max(engine.lookup.params.k for engine in engines)
        tokens = next(iter(engines)).lookup.tokens(text)
        return self.streams.join(_stream_key(room), author, message_id, tokens, at, longest - 1)

    async def _continuing(
        self, found: list[Suspicion], joined: Joined | None
    ) -> tuple[list[Suspicion], list[tuple[Suspicion, LeakFlag]]]:
        """Quotes running on from an earlier part of the stream (their matching shingles
        cross into this message) whose source that part already raised an open quote flag
        for: the rest of the same quote, to be added to that flag, not flagged again. A
        quote this message carries alone, or a link, is a copy of its own."""
        if joined is None or not joined.flagged:
            return found, []
        new: list[Suspicion] = []
        continued: list[tuple[Suspicion, LeakFlag]] = []
        for suspicion in found:
            flag_id = joined.flagged.get(room_key(suspicion.source))
            flag = None if flag_id is None else await self.core.store.flag(flag_id)
            if (
                suspicion.signal == "quote"
                and suspicion.parts
                and flag is not None
                and flag.status == "open"
                and flag.signal == "quote"
            ):
                continued.append((suspicion, flag))
            else:
                new.append(suspicion)
        return new, continued

    async def _add_part(
        self, flag: LeakFlag, room: Room, message_id: str, poster: Member, suspicion: Suspicion
    ) -> list[Action]:
        """A later part of a quote already flagged: listed with its flag (no second alert)
        and, where the policy removes copies, removed like the part that was flagged."""
        await self.core.store.add_flag_part(flag.id, message_id, flag.message_id)
        log.info(
            "leak flag %d gained a later part on %s",
            flag.id,
            room.platform,
            extra=fields("flag_part_added", flag=flag.id, platform=room.platform, room=room.id),
        )
        policy = suspicion.policy
        if not self._removes(policy, room):
            return []
        why = f"leak flag {flag.id}, a later part of the copy"
        return [DeleteMessage(room, message_id, poster, policy.name, why)]

    # -- fingerprints -----------------------------------------------------------------------
    async def _index(
        self,
        room: Room,
        message_id: str,
        author: bytes,
        text: str,
        policy: Policy,
        at: datetime,
        joined: Joined | None = None,
    ) -> None:
        """``joined``: the message read after its author's last words here. The shingles
        crossing into it are stored as its fingerprints too, so a copy of words that span
        two of the member's posts is caught (the benchmark's quotes across such a join
        went from 7% caught at 12 words to 96%). They go with this message, or with the
        earlier one whose words they hold, on an edit or a delete, and with retention or
        the author's erasure."""
        spec = policy.leaks
        fingerprints = self.engines.fingerprints_to_store(spec, text)
        self.engines.remember(room)
        junction: dict[int, frozenset[str]] = {}
        if joined is not None and joined.gap <= timedelta(minutes=spec.stream_minutes):
            fingerprinter = self.engines.fingerprinter(stored_params(spec))
            junction = junction_fingerprints(fingerprinter, joined)
        own = fingerprints.values
        if junction:
            fingerprints = Fingerprints(own | junction.keys(), False, len(joined.tokens))
        if not fingerprints:
            return
        key, day, scheme = room_key(room), day_number(at), scheme_of(spec)
        message = self.engines.message_hash(room.platform, room.id, message_id)
        like = StoredFingerprint(0, scheme, key, policy.name, day, author, message)
        rows = [replace(like, fingerprint=value) for value in own]
        for value, parts in junction.items():
            if value in own:
                continue  # the message's own words hold it too: it goes with the message
            rows += [
                replace(
                    like,
                    fingerprint=value,
                    joined_to=self.engines.message_hash(room.platform, room.id, part),
                )
                for part in sorted(parts)
            ] or [replace(like, fingerprint=value)]
        near = self.engines.near_rows(spec, text, like)  # long messages: near shingles
        await self.core.store.add_fingerprints([*rows, *near])
        engine = self.engines.engines.get(scheme)
        if engine is None:  # a policy reload added a scheme: build it (from the store)
            await self.load()
        else:
            engine.index.add(fingerprints, key, day, author)
            engine.add_near(near)

    async def _forget(self, room: Room, message_id: str) -> None:
        message = self.engines.message_hash(room.platform, room.id, message_id)
        self.engines.stale += await self.core.store.delete_message_fingerprints(message)

    # -- flags and what follows -------------------------------------------------------------
    async def _flag(
        self,
        room: Room,
        message_id: str,
        poster: Member,
        found: Iterable[Suspicion],
        at: datetime,
        copy_state: str | None = None,
        text: str | None = None,
        raised: dict[str, int] | None = None,
    ) -> list[Action]:
        """``text``: the copy's words, sealed for review where the policy holds copies
        (and nowhere else; they are dropped here otherwise). ``raised`` is filled with the
        flag id saved per source room key."""
        actions: list[Action] = []
        for suspicion in strongest(found):
            source = suspicion.source
            draft = LeakFlag(
                id=0,
                platform=room.platform,
                room_id=room.id,
                room_name=room.label,
                message_id=message_id,
                source_platform=source.platform,
                source_room_id=source.id,
                source_room_name=source.label,
                policy=suspicion.policy.name,
                signal=suspicion.signal,
                matched=len(suspicion.matched),
                whole_message=suspicion.whole_message,
                poster_id=poster.id,
                status="open",
                copy_state="posted",
                created_at=at,
                updated_at=at,
                closed_by=None,
                parts=suspicion.parts,
            )
            flag, new = await self.core.store.save_flag(draft, suspicion.matched, copy_state)
            if raised is not None and flag.signal == "quote":
                raised[room_key(source)] = flag.id
            log.info(
                "leak flag %d (%s) on %s, %s",
                flag.id,
                flag.signal,
                room.platform,
                "new" if new else "updated",
                extra=fields(
                    "flag_raised" if new else "flag_updated",
                    flag=flag.id,
                    signal=flag.signal,
                    platform=room.platform,
                    room=room.id,
                    source_room=source.id,
                    policy=flag.policy,
                    member=poster.id,
                ),
            )
            if new:
                self.core.metrics.count("flag_raised")
                held = text is not None and self._holds(suspicion.policy, room)
                if held:
                    assert text is not None
                    await self.held.keep(flag.id, text, suspicion.policy, self.core.clock.now())
                told = self._consequences(flag, room, poster, suspicion, held, at)
                actions += await repeat_flags.mark_alerts(
                    self.core, self.author(poster), flag, told
                )
        return actions

    def _removes(self, policy: Policy, room: Room) -> bool:
        todo = policy.leaks.actions
        return (
            (todo.delete_copy or todo.hold_for_review)
            and self.core.caps(room.platform).deletes
            and not room.is_private_chat
        )

    def _holds(self, policy: Policy, room: Room) -> bool:
        """The copy is taken down for review: its words are kept sealed until then."""
        return policy.leaks.actions.hold_for_review and self._removes(policy, room)

    def _remind_poster_due(self, poster: Member, at: datetime) -> bool:
        """One reminder for copies posted close together (a relay, a webhook, has no
        inbox and is never reminded). Kept for the run; old entries are dropped."""
        if poster.is_bot:
            return False
        key = (poster.platform, poster.id)
        last = self._posters_reminded.get(key)
        if last is not None and at - last < POSTER_REMINDER_GAP:
            return False
        self._posters_reminded = {
            k: t for k, t in self._posters_reminded.items() if at - t < POSTER_REMINDER_GAP
        }
        self._posters_reminded[key] = at
        return True

    def _consequences(
        self,
        flag: LeakFlag,
        room: Room,
        poster: Member,
        suspicion: Suspicion,
        held: bool,
        at: datetime,
    ) -> list[Action]:
        """``held``: the copy's words are kept sealed for one reading (/flag show)."""
        policy = suspicion.policy
        todo = policy.leaks.actions
        prefix = self.core.prefix(room.platform)
        remove = self._removes(policy, room)
        source_label = flag.source_room_name or flag.source_room_id
        remind = todo.remind_poster and not poster.is_bot and self._remind_poster_due(poster, at)
        if todo.alert and not policy.alerts:
            log.warning("policy %s has no alert room for leak flag %d", policy.name, flag.id)

        def told(removed: bool) -> list[Action]:
            """The alerts and the poster's reminder, saying the copy was removed only if it
            was (a refused removal leaves it standing), in the language of the community
            whose words were copied: the copy's own room may be no community's, or another's."""
            with i18n.speaking(policy.language):
                return _told(removed)

        def _told(removed: bool) -> list[Action]:
            said: list[Action] = []
            if todo.alert:
                about, source_ref = alert_refs(flag, room, suspicion)
                # each alert room reads the commands with its own platform's prefix
                said += [
                    AlertModerators(
                        ref.platform,
                        ref.selector[1],
                        texts.leak_alert(
                            flag.id,
                            source_label,
                            room.label,
                            flag.message_id,
                            poster.label,
                            flag.signal,
                            flag.matched,
                            flag.whole_message,
                            self.core.prefix(ref.platform),
                            removed,
                        )
                        + (
                            "\n" + texts.leak_parts_line(suspicion.parts)
                            if suspicion.parts
                            else ""
                        )
                        + (
                            "\n"
                            + texts.held_copy_alert_line(
                                flag.id, self.core.prefix(ref.platform), policy.leaks.review_hours
                            )
                            if held
                            else ""
                        ),
                        about,
                        source_ref,
                        earlier_parts=earlier_refs(room, suspicion),
                    )
                    for ref in policy.alerts
                ]
            if remind:
                said.append(
                    SendPrivate(
                        poster,
                        texts.leak_reminder(
                            room.label, source_label, removed, prefix, held=todo.hold_for_review
                        )
                        + (texts.held_copy_poster_note(policy.leaks.review_hours) if held else ""),
                        idempotency_key=f"leak-{flag.id}",
                    )
                )
            return said

        if not remove:
            return told(False)
        why = f"leak flag {flag.id}" + (", held for review" if todo.hold_for_review else "")
        earlier = [  # the other parts of a quote posted over several messages
            DeleteMessage(room, part, poster, policy.name, why)
            for part in suspicion.parts
            if part != flag.message_id
        ]
        return [
            *earlier,
            DeleteMessage(
                room,
                flag.message_id,
                poster,
                policy.name,
                why,
                then=tuple(told(True)),
                otherwise=tuple(told(False)),
            )
        ]


POSTER_REMINDER_GAP = timedelta(minutes=10)


def _poster(author: Member, relayed: bool) -> Member:
    """The poster as flags and alerts name them; a relay is named as one."""
    if not relayed:
        return author
    return replace(author, display_name=texts.relayed_poster(author.label))


def _stream_key(room: Room) -> str:
    """A stream is one room's (a thread is its own: its messages follow each other)."""
    return f"{room.platform}:{room.id}"


def earlier_refs(room: Room, suspicion: Suspicion) -> tuple[MessageRef, ...]:
    """The parts before the last of a quote posted over several messages, for links."""
    if room.is_private_chat:
        return ()
    return tuple(
        MessageRef(room.platform, room.id, part) for part in suspicion.parts[:-1]
    )


def alert_refs(
    flag: LeakFlag, room: Room, suspicion: Suspicion
) -> tuple[MessageRef | None, MessageRef]:
    """Where the copy is and where it came from, for the alert's links.

    A copy in a private chat with the bot gets no link: moderators cannot open someone
    else's private chat, and its "id" is only a time. The source is the exact message
    when a forward, link or reply names it, else the confidential room.
    """
    about = None if room.is_private_chat else MessageRef(room.platform, room.id, flag.message_id)
    ref = suspicion.ref
    if ref is not None and ref.platform == flag.source_platform and ref.message_id:
        return about, ref
    return about, MessageRef(flag.source_platform, flag.source_room_id)
