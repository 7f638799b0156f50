"""A terminal room for trying a policy without any chat account.

Lines come from a keyboard or a script, so the console doubles as a scriptable test
driver. Output names its channel on every line so private messages, room posts,
replies only the invoker sees and moderator alerts can be told apart at a glance.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from bot.actions import (
    Action,
    ActionNotSupported,
    AlertModerators,
    Button,
    CheckReadGate,
    DeleteMessage,
    GrantAccess,
    PostToRoom,
    PrivateMessageRefused,
    RemoveFromRoom,
    ReplyToInvoker,
    RevokeAccess,
    Select,
    SendPrivate,
    SetPostingAllowed,
    TimeoutMember,
)
from bot.clock import Clock
from bot.commands import Registry
from bot.events import (
    AccessRequested,
    BotPermissions,
    BotPosted,
    ChoiceMade,
    CommandInvoked,
    Member,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    ModeratorGranted,
    PrivateReply,
    Room,
)
from bot.mentions import render
from bot.ports import Capabilities, EventSink

PLATFORM = "console"

SYNTAX = """\
Console syntax:
  :room NAME          switch to room NAME
  :join USER          USER joins the current room (of a read-gated room: USER asks to
                      read it, and is let in only after agreeing to its reminder)
  :leave USER         USER leaves the current room
  :mod USER           make USER a moderator for this session
  :dm USER TEXT       USER writes TEXT to the bot privately (commands work too)
  :dms-closed USER    USER refuses private messages (to try the fallback)
  :press USER WHAT    USER presses a button, or picks an option of a select, shown in the
                      current room as [buttons: ...] or [select: ...] (by label or id)
  USER: TEXT          USER posts TEXT in the current room (e.g. alice: /agree)
  :help               this text;   :quit  leave
Lines starting with # are comments."""


def room_of(name: str) -> Room:
    return Room(PLATFORM, name, name)


def private_room(user: str) -> Room:
    return Room(PLATFORM, f"dm:{user}", f"private chat with {user}", is_private_chat=True)


def private_text(action: SendPrivate) -> str:
    """A private message as printed: choices in brackets as in a room post, and a file as a
    block under a line naming it (a terminal has no attachments)."""
    lines = [action.text]
    if action.buttons:
        lines.append("[buttons: " + ", ".join(b.label for b in action.buttons) + "]")
    if action.select is not None:
        lines.append("[select: " + ", ".join(o.label for o in action.select.options) + "]")
    file = action.attachment
    if file is not None:
        lines.append(f"[file: {file.name}, {file.media_type}, {len(file.data)} bytes]")
        try:
            lines += file.data.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            lines.append("(binary content not shown)")
        lines.append("[end of file]")
    return "\n".join(lines)


class ConsoleAdapter:
    platform = PLATFORM
    capabilities = Capabilities(
        ephemeral_replies=True,
        buttons=False,
        posting_permission=False,
        deletes=True,
        private_messages=True,
        command_prefix="/",
    )
    connected = True  # a terminal is always there (see bot.ports.is_connected)

    def __init__(
        self, registry: Registry, clock: Clock, out: TextIO | None = None, room: str = "recovery"
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.out = out or sys.stdout
        self.room = room
        self._sink: EventSink | None = None
        self._dms_closed: set[str] = set()
        self._performed_keys: set[str] = set()
        self._message_seq = 0
        self._bot_seq = 0
        # What can be pressed in each room: the console's stand-in for buttons on screen.
        self._buttons: dict[str, dict[str, Button]] = {}
        self._selects: dict[str, dict[str, Select]] = {}
        # Read-gated rooms (the core sends CheckReadGate for them) and who may read each:
        # the console's stand-in for a channel hidden until a member is let in. Everyone
        # seen in a room before it was gated stays a reader, as on a platform.
        self._gated: set[str] = set()
        self._readers: dict[str, set[str]] = {}

    # -- Adapter protocol -------------------------------------------------------------------
    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        await self._entered(self.room)

    async def stop(self) -> None:
        self._sink = None

    async def perform(self, action: Action) -> None:
        key = getattr(action, "idempotency_key", None)
        if key is not None and key in self._performed_keys:
            return
        match action:
            case SendPrivate(member=member):
                if member.id in self._dms_closed:
                    raise PrivateMessageRefused(member.id)
                self._print(f"[private → {member.id}]", private_text(action))
            case PostToRoom():
                await self._post_to_room(action)
            case ReplyToInvoker(room=room, member=member, text=text):
                self._print(f"[only {member.id} sees, #{room.label}]", render(text, str))
            case AlertModerators(room_selector=target):
                # no links on a console: the references print as ids
                self._print(f"[alert → #{target}]", action.with_links(lambda _: None))
            case DeleteMessage(room=room, author=author):
                who = f"{author.id}'s" if author else "a"
                self._print(f"[#{room.label}]", f"({who} message was hidden from the room)")
            case SetPostingAllowed():
                raise ActionNotSupported("the console has no posting permissions")
            case TimeoutMember(room=room, member=member, until=until):
                what = f"timed out until {until:%H:%M}" if until else "timeout ended"
                if until is None and not action.restore_posting:
                    what += ", still held until they agree"
                self._print(f"[#{room.label}]", f"({member.id}: {what})")
            case RemoveFromRoom(room=room, member=member):
                self._print(f"[#{room.label}]", f"({member.id} was removed from the room)")
            case CheckReadGate(room=room):
                self._gated.add(room.id)
            case GrantAccess(room=room, member=member):
                await self._let_in(room, member)
            case RevokeAccess(room=room, member=member, notice=notice):
                self._readers.get(room.id, set()).discard(member.id)
                # as a Matrix kick shows its reason in the room's timeline
                said = f"({member.id} can no longer read the room)"
                said += f" {notice}" if notice else ""
                self._print(f"[#{room.label}]", said)
                await self._deliver(MemberLeft(room, member, self.clock.now()))
            case _:
                raise ActionNotSupported(type(action).__name__)
        if key is not None:
            self._performed_keys.add(key)

    async def _post_to_room(self, action: PostToRoom) -> None:
        """One printed post; what only richer platforms can do is said in brackets."""
        room, mention = action.room, action.mention
        where = f"#{room.label}"
        if action.private_thread and mention is not None:
            where += f", private thread with {mention.id}"
        head = f"[{where}] confidant"
        if action.replaces is not None:
            head += f" (edits message {action.replaces})"
        lines = [render(action.text, str)]  # members by their console names
        if action.buttons:
            lines.append("[buttons: " + ", ".join(b.label for b in action.buttons) + "]")
            self._buttons.setdefault(room.id, {}).update({b.id: b for b in action.buttons})
        if action.select is not None:
            lines.append("[select: " + ", ".join(o.label for o in action.select.options) + "]")
            self._selects.setdefault(room.id, {})[action.select.id] = action.select
        if action.delete_after_s is not None:
            lines.append(f"(deleted after {action.delete_after_s / 60:g} minutes)")
        self._print(f"{head} → @{mention.id}:" if mention else f"{head}:", "\n".join(lines))
        if action.report_id:
            message_id = action.replaces
            if message_id is None:
                self._bot_seq += 1
                message_id = f"b{self._bot_seq}"
            now = self.clock.now()
            await self._deliver(BotPosted(room, message_id, action.idempotency_key, now))

    async def _let_in(self, room: Room, member: Member) -> None:
        """Access given: the member reads the room from now on (a join, as on a platform
        where the bot's invite or role lets them in)."""
        readers = self._readers.setdefault(room.id, set())
        if member.id in readers:
            return
        readers.add(member.id)
        self._print(f"[#{room.label}]", f"({member.id} can now read the room)")
        await self._deliver(MemberJoined(room, member, self.clock.now()))

    def _shut_out(self, user: str, room: Room) -> bool:
        """A read-gated room is out of reach of someone not let in: they see nothing there,
        so they cannot post or run commands in it either (they agree privately)."""
        readers = self._readers.setdefault(room.id, set())
        if room.id not in self._gated or user in readers:
            if not room.is_private_chat:
                readers.add(user)
            return False
        self._print("[console]", f"{user} cannot read #{room.label} yet, so cannot post there")
        return True

    async def _entered(self, name: str) -> None:
        """The console bot may delete posts but cannot restrict posting; saying so at start
        (and for each room switched to) is also when the core puts up a rules message."""
        await self._deliver(BotPermissions(room_of(name), True, False, self.clock.now()))

    async def _press(self, user: str, what: str) -> None:
        room, member, now = room_of(self.room), Member(PLATFORM, user), self.clock.now()
        wanted = what.casefold()
        for button in self._buttons.get(room.id, {}).values():
            if wanted in (button.id.casefold(), button.label.casefold()):
                await self._deliver(ChoiceMade(room, member, button.id, now))
                return
        for select in self._selects.get(room.id, {}).values():
            for option in select.options:
                if wanted in (option.value.casefold(), option.label.casefold()):
                    await self._deliver(ChoiceMade(room, member, select.id, now, (option.value,)))
                    return
        if what.startswith("confidant:"):  # a button from before a restart, by its id
            await self._deliver(ChoiceMade(room, member, what, now))
            return
        self._print("[console]", f"nothing to press called {what!r} in #{self.room}")

    # -- input ----------------------------------------------------------------------------------
    async def feed(self, line: str) -> bool:
        """Handle one input line; False means the user asked to quit."""
        line = line.rstrip("\n")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return True
        if stripped.startswith(":"):
            return await self._directive(stripped)
        user, sep, text = stripped.partition(":")
        if not sep or not user.strip() or " " in user.strip():
            self._print("[console]", "not understood; type :help for the syntax")
            return True
        await self._post(user.strip(), text.strip(), room_of(self.room))
        return True

    async def _directive(self, line: str) -> bool:
        word, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        now = self.clock.now()
        match word:
            case "quit" | "exit":
                return False
            case "help":
                self._print("[console]", SYNTAX)
            case "room" if rest:
                self.room = rest.lstrip("#")
                self._print("[console]", f"now in #{self.room}")
                await self._entered(self.room)
            case "join" if rest:
                room, member = room_of(self.room), Member(PLATFORM, rest)
                readers = self._readers.setdefault(room.id, set())
                if room.id in self._gated and rest not in readers:
                    await self._deliver(AccessRequested(room, member, now, via="console"))
                else:
                    readers.add(rest)
                    await self._deliver(MemberJoined(room, member, now))
            case "leave" if rest:
                self._readers.get(self.room, set()).discard(rest)
                await self._deliver(MemberLeft(room_of(self.room), Member(PLATFORM, rest), now))
            case "mod" if rest:
                await self._deliver(ModeratorGranted(Member(PLATFORM, rest), now))
                self._print("[console]", f"{rest} is a moderator for this session")
            case "dms-closed" if rest:
                self._dms_closed.add(rest)
            case "press" if " " in rest:
                user, what = rest.split(" ", 1)
                await self._press(user, what.strip())
            case "dm" if " " in rest:
                user, text = rest.split(" ", 1)
                await self._post(user, text.strip(), private_room(user))
            case _:
                self._print("[console]", f"not understood: :{word}; type :help for the syntax")
        return True

    async def _post(self, user: str, text: str, room: Room) -> None:
        if self._shut_out(user, room):
            return
        member = Member(PLATFORM, user)
        now = self.clock.now()
        prefix = self.capabilities.command_prefix
        parsed = self.registry.parse_text(text, prefix)
        if parsed is not None:
            event = CommandInvoked(room, member, parsed.spec.name, now, argv=parsed.argv)
            await self._deliver(event)
            return
        unknown = self.registry.unknown_command(text, prefix)
        if unknown is not None:
            argv = self.registry.words_after(text, prefix, unknown)
            await self._deliver(CommandInvoked(room, member, unknown, now, argv=argv))
            return
        if room.is_private_chat:
            await self._deliver(PrivateReply(room, member, text, now))
            return
        self._message_seq += 1
        await self._deliver(MessagePosted(room, member, f"m{self._message_seq}", text, now))

    async def _deliver(self, event: object) -> None:
        if self._sink is None:
            raise RuntimeError("the console adapter is not started")
        await self._sink(event)  # type: ignore[arg-type]

    def _print(self, head: str, text: str) -> None:
        lines = text.splitlines() or [""]
        self.out.write(f"{head} {lines[0]}\n")
        for more in lines[1:]:
            self.out.write(f"    {more}\n")
        self.out.flush()


async def run_lines(
    adapter: ConsoleAdapter, read_line: Callable[[], str], prompt: Callable[[], None] | None
) -> None:
    """Feed lines until end of input or :quit. Blocking reads happen on a daemon thread, so
    a bot stopped by a signal never waits for someone to press Enter."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()
    wanted = threading.Semaphore(0)

    def reader() -> None:
        while True:
            wanted.acquire()
            try:
                line = read_line()
            except (OSError, ValueError):
                line = ""
            loop.call_soon_threadsafe(lines.put_nowait, line)
            if line == "":
                return

    threading.Thread(target=reader, name="console-input", daemon=True).start()
    while True:
        if prompt is not None:
            prompt()
        wanted.release()
        line = await lines.get()
        if line == "":
            return
        if not await adapter.feed(line):
            return
