"""What the core asks an adapter to do.

Actions are frozen intents. A private message carries its own fallback so that the decision
"what if the member's DMs are closed" is made by the core (from the policy), while only the
adapter can find out that the platform refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.events import Member, MessageRef, Room
from bot.i18n import N_, current, speaking, t


@dataclass(frozen=True, slots=True)
class Button:
    """A choice a member makes with one press. The id is deterministic (``confidant:...``),
    never random, so a button posted before a restart still means the same thing after it."""

    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Select:
    """A choice among options (a select menu where the platform has one)."""

    id: str
    options: tuple[Option, ...]
    placeholder: str = ""


@dataclass(frozen=True, slots=True)
class PostToRoom:
    """A post in a room, with everything the core may need from it.

    These are fields rather than further action types so that every adapter (and the
    runtime, which routes actions by type) keeps understanding a post; an adapter that cannot
    honour one renders it as best it can: buttons as text, a thread as the room itself.
    """

    room: Room
    text: str
    mention: Member | None = None
    idempotency_key: str | None = None
    buttons: tuple[Button, ...] = ()
    select: Select | None = None
    # Remove the post after this long where the platform can: a fallback reminder that
    # names a member need not stay in the room's history.
    delete_after_s: float | None = None
    # The platform's id of an earlier post to edit into this one (a new post if it is gone).
    replaces: str | None = None
    # Post in a new private thread of this room holding only the bot and ``mention``.
    private_thread: bool = False
    # The core keeps this post (a rules message): the adapter reports its id as BotPosted.
    report_id: bool = False
    # Members the post names and notifies besides ``mention`` (a burst's room reminder, see
    # bot/bursts.py); their names are member tokens in ``text``.
    mentions: tuple[Member, ...] = ()
    # The language the text is in (see SendPrivate.language): what the platform shows
    # beside it is named in it too (the private thread's name on Discord).
    language: str = field(default_factory=current, compare=False, repr=False)

    @property
    def has_choices(self) -> bool:
        return bool(self.buttons) or self.select is not None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that goes with a private message: a member's own data export, for instance.

    The bytes are the member's data, so they are left out of the repr: an action that ends
    up in a log line or an error message never carries them along.
    """

    name: str
    media_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class SendPrivate:
    """Write to a member privately; if the platform refuses, perform ``fallback`` instead:
    alternatives in order, until one is done (none done: not delivered).

    It may offer the same choices a room post can (a check-in's consent and answers reach
    the member's private chat however the conversation began), and carry one file. An
    adapter without buttons shows them as text (the core's text lists the choices anyway);
    one without files sends the file's content as a block of text.
    """

    member: Member
    text: str
    fallback: tuple[Action, ...] = ()
    idempotency_key: str | None = None
    # Where a private conversation must first be accepted (Matrix invites), how long to
    # wait before reporting PrivateMessageUnread so the core can fall back.
    unread_timeout_s: float | None = None
    buttons: tuple[Button, ...] = ()
    select: Select | None = None
    attachment: Attachment | None = None
    # Done only once the private message was delivered: an answer such as "sent to you
    # privately" is true only then (a refused message performs ``fallback`` instead).
    then: tuple[Action, ...] = ()
    # Carried out beside the event's other actions rather than before them: a join burst's
    # private reminders must not hold up the next joins (see bot/bursts.py).
    background: bool = False
    # The language the text is in (the core's, where the action was made), for what an
    # adapter adds on its own (Matrix's notice in an unencrypted private chat).
    language: str = field(default_factory=current, compare=False, repr=False)

    @property
    def has_choices(self) -> bool:
        return bool(self.buttons) or self.select is not None


@dataclass(frozen=True, slots=True)
class ReplyToInvoker:
    """Answer the person who ran a command so that only they see it, as far as the platform can:
    an ephemeral reply, else a private message, else the room with a mention."""

    room: Room
    member: Member
    text: str
    reply_handle: str | None = None
    # Where an answer from a room lands in a private chat the member has not accepted yet
    # (a Matrix invite), this is said in the room instead (never the answer itself).
    pointer: str | None = None
    # Only they may ever see it (a held copy's words): no mention in the room instead.
    private_only: bool = False
    # The language of the answer (see SendPrivate.language).
    language: str = field(default_factory=current, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DeleteMessage:
    room: Room
    message_id: str
    author: Member | None = None
    # For the audit log of the bot's own actions: the policy it acted under (None: the
    # room's) and why, in words that never quote a member.
    policy: str | None = None
    reason: str = ""
    # What is said about it: ``then`` once the post is gone, ``otherwise`` when it could
    # not be removed, so nobody is told a post was removed that is still there.
    then: tuple[Action, ...] = ()
    otherwise: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class SetPostingAllowed:
    room: Room
    member: Member
    allowed: bool
    # The platform role that grants posting in this room, where the policy names one: the
    # adapter gives or takes that role instead of changing the room's permissions for one
    # member. Platforms without such roles ignore it.
    grant: str | None = None
    policy: str | None = None  # for the audit log, as on DeleteMessage
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TimeoutMember:
    """Keep a member from posting for a while (a repeat leaker, see bot/repeat_flags.py):
    ``until`` is when it ends, None to end it now. Discord: a communication timeout on the
    server of ``room`` (needs Moderate Members); Matrix: a power level below posting in
    ``room``, restored by a later TimeoutMember with ``until=None`` (the core stores the
    end and sends it when due, also after a restart)."""

    room: Room
    member: Member
    until: datetime | None
    policy: str | None = None
    reason: str = ""
    # At the end: may the member post again? False while the agreement gate holds them
    # (Matrix keeps the power level below posting; Discord's timeout is apart from the gate).
    restore_posting: bool = True


@dataclass(frozen=True, slots=True)
class RemoveFromRoom:
    """Take a member out of a confidential room (Discord: a per-member View Channel deny;
    Matrix: a kick). Undone by moderators, not by the bot."""

    room: Room
    member: Member
    policy: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CheckGrant:
    """Ask the adapter whether it can give and take ``grant`` for posting in ``room``.

    Sent when the adapter reports a room (at start, on joining a server) and after a reload
    names a new role, so that an admin hears what is wrong before the first member agrees
    and nothing happens. The adapter answers with AdapterStatus only if something is wrong.
    """

    room: Room
    grant: str


@dataclass(frozen=True, slots=True)
class CheckMessage:
    """Ask the adapter whether a post the core keeps (a rules message) is still there.

    Sent at start: a post removed while the bot was offline sent no delete event the bot
    could see. The adapter answers MessageDeleted only if the platform says the message is
    gone, so the core's ordinary delete handling posts it again. Sent only to platforms
    whose capabilities say they can look (``Capabilities.checks_posts``).
    """

    room: Room
    message_id: str


@dataclass(frozen=True, slots=True)
class AlertModerators:
    """A note to a moderators' room. It must never quote a member's message.

    Where it is about a message (a suspected leak), it says so as references rather than
    URLs: the core knows ids, and only the adapter knows how its platform links to them (a
    Discord jump link needs the server, a Matrix permalink the room id). A moderator with
    access follows the link; the alert itself never needs the text.
    """

    platform: str
    room_selector: str  # the policy's alert room: id, alias or name, resolved by the adapter
    text: str
    about: MessageRef | None = None  # the message the alert is about (the suspected copy)
    # The confidential room it seems to come from; with the message where the platform
    # named one (a forward, a link, a reply).
    source_room: MessageRef | None = None
    # What ``about`` is, as the line before its link says (a member's report points at a
    # message or room that need not be a copy of anything).
    about_label: str = N_("Copy")  # said in the language of the alert's reader
    # A copy posted over several messages: the parts before ``about``, oldest first.
    earlier_parts: tuple[MessageRef, ...] = ()
    # Given by the alert outbox (bot/alert_outbox.py) when it records the alert; a resend
    # carries the same key, so the platform drops a repeat.
    idempotency_key: str | None = None
    # The member whose own words or answers the alert carries (a contact request with the
    # check-in answers they chose to share, a report): erased with their data while owed.
    concerns: Member | None = None
    # The language its text was worded in (the core's, where the alert is made): its labels
    # and the platform's names of commands are said in it when the adapter sends it later,
    # outside the core's handling (a deployment may serve communities of several languages).
    language: str = field(default_factory=current, compare=False, repr=False)

    def with_links(self, link: Callable[[MessageRef], str | None]) -> str:
        """The text with a line per reference under its first line (what happened, then
        where); ``link`` is the adapter's renderer and gives None for what it cannot link
        (another platform's message), which is shown as ids."""
        with speaking(self.language):
            return self._with_links(link)

    def _with_links(self, link: Callable[[MessageRef], str | None]) -> str:
        head, *rest = self.text.split("\n")
        count = len(self.earlier_parts) + 1
        labelled = [
            (t("Part {part} of {count}", part=i, count=count), ref)
            for i, ref in enumerate(self.earlier_parts, 1)
        ]
        about = t(self.about_label)
        if labelled:
            about = t("{label} (part {part} of {count})", label=about, part=count, count=count)
        labelled += [(about, self.about), (t("Source"), self.source_room)]
        refs = [
            f"{label}: {link(ref) or describe_ref(ref)}"
            for label, ref in labelled
            if ref is not None
        ]
        return "\n".join([head, *refs, *rest])


def describe_ref(ref: MessageRef) -> str:
    """Ids in words, for the console and for a reference into another platform."""
    if ref.message_id:
        return t(
            "{platform} room {room}, message {message}",
            platform=ref.platform,
            room=ref.room_id,
            message=ref.message_id,
        )
    return t("{platform} room {room}", platform=ref.platform, room=ref.room_id)


@dataclass(frozen=True, slots=True)
class JoinRoom:
    room: Room


@dataclass(frozen=True, slots=True)
class LeaveRoom:
    """Also declines an invite."""

    room: Room


@dataclass(frozen=True, slots=True)
class GrantAccess:
    """Let a member read a read-gated room (they agreed to its reminder). Discord: View
    Channel through ``grant`` (the policy's agreed role) or a per-member overwrite; Matrix:
    an invite. ``then`` is done only once access was given, so a member is never told they
    can read a room the platform refused to open to them."""

    room: Room
    member: Member
    grant: str | None = None
    policy: str | None = None  # for the audit log, as on DeleteMessage
    reason: str = ""
    then: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class RevokeAccess:
    """Take a member's access to a read-gated room away until they agree again (a changed
    text under ``reask: suspend``). Discord: the role or overwrite taken; Matrix: a kick."""

    room: Room
    member: Member
    grant: str | None = None
    policy: str | None = None
    reason: str = ""  # for the audit log (moderators, admins)
    # What the member is shown where the platform shows why (a Matrix kick's reason, seen by
    # everyone in the room too), in the policy's language; never any room text.
    notice: str = ""
    then: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckReadGate:
    """The room's policy holds reading back until agreement: the adapter checks (Discord:
    @everyone cannot view it; Matrix: join rule knock or invite) and keeps newcomers out,
    reporting AccessRequested for those who ask. Sent for each read-gated room it reports.
    ``grant``: the role the policy gives on agreeing (Discord), the one role that may show
    the room besides moderators'. ``history`` and ``reask`` are the policy's: whether
    history from before a join may be read ("any") or not ("since_join"), and whether a
    changed text takes access away ("suspend", which needs the power to remove members)."""

    room: Room
    grant: str | None = None
    history: str = "since_join"
    reask: str = "keep_access"


Action = (
    PostToRoom
    | SendPrivate
    | ReplyToInvoker
    | DeleteMessage
    | SetPostingAllowed
    | TimeoutMember
    | RemoveFromRoom
    | CheckGrant
    | CheckMessage
    | AlertModerators
    | JoinRoom
    | LeaveRoom
    | GrantAccess
    | RevokeAccess
    | CheckReadGate
)


class PrivateMessageRefused(Exception):
    """Raised by an adapter when the platform will not deliver a private message (the
    member does not accept them): the policy's fallback, at once."""


class MemberUnreachable(PrivateMessageRefused):
    """The platform says the member shares no place with the bot any more (they left):
    nothing reaches them, and a fallback in a room they left would name someone absent."""


class PrivateMessageNotNow(Exception):
    """The platform would not take a private message just now (opening them too fast, an
    error that may pass). The core tries again later, a bounded number of times, then
    uses the policy's fallback: each refused try counts against the bot on the platform."""


class ActionNotSupported(Exception):
    """Raised by an adapter for an action its platform cannot carry out."""


class ActionRefused(ActionNotSupported):
    """The platform itself refused the action (a missing permission, answered as such):
    never reported as done; the room's moderators hear of it once per run. Its message
    carries ids and the platform's error code only, never a member's words."""

    @property
    def reason(self) -> str:
        """The message as the adapter gave it: an i18n.Phrase stays one, so the moderators
        read it in their room's language (str(error) would keep the English only)."""
        given = self.args[0] if self.args else ""
        return given if isinstance(given, str) else str(self)
