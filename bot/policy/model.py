"""The policy a moderator writes for a set of rooms, as immutable values.

Models are frozen so a loaded :class:`PolicySet` can be shared by every task and swapped
atomically on reload; nothing can change a policy half-way through handling a message.
Validation messages here are written for volunteer moderators, and the loader attaches the
file, line and column. Adding a policy section (``leaks:``, ``checkins:``) is one new
optional field on :class:`Policy`: the loader and its error reporting are generic.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Annotated, Literal, Self

from bot import i18n
from bot.policy.conflicts import find_conflicts
from bot.policy.frozen import (
    AfterValidator,
    Field,
    Invalid,
    Model,
    ValidationInfo,
    field_validator,
    model_validator,
)
from bot.policy.texts_check import blank_problem

Platform = Literal["console", "matrix", "discord"]

MAX_REMINDER_CHARS = 4000
POLICY_NAME_RE = re.compile(r"^[a-z0-9_-]+$")

# Room versions up to 11 have "!opaque:server"; version 12 room ids are "!" + a hash only.
_MATRIX_ROOM_ID_RE = re.compile(r"^![^:\s]+(:\S+)?$")
_MATRIX_ALIAS_RE = re.compile(r"^#[^:\s]+:\S+$")
_MATRIX_USER_RE = re.compile(r"^@[^:\s]+:\S+$")
_SNOWFLAKE_RE = re.compile(r"^[0-9]{1,20}$")
# A timeout shorter than this ends before a member can have read or answered anything.
MIN_TIMEOUT_MINUTES = 1


def problem(message: str) -> Invalid:
    """An error whose message is already worded for moderators and must be shown verbatim."""
    return Invalid(message)


def _canonical_snowflake(value: str, what: str) -> None:
    """Discord ids are numbers written without leading zeros: '0123' is compared as text
    with the id Discord sends ('123') and would never match."""
    if value.startswith("0"):
        fix = f"write '{value.lstrip('0')}'" if value.strip("0") else "copy the id again"
        raise problem(
            f"'{value}' starts with 0, and no Discord {what} id does, so it would never "
            f"match; {fix} (with Developer Mode on, right-click and choose Copy ID)"
        )


def _at_least_a_minute(value: float | None, why: str) -> float | None:
    if value is not None and not value >= MIN_TIMEOUT_MINUTES:  # NaN too
        raise problem(f"must be at least {MIN_TIMEOUT_MINUTES} minute, got {value:g}: {why}")
    return value


def _visible(what: str) -> AfterValidator:
    """A text a member reads: it must show at least one visible character."""

    def check(value: str) -> str:
        reason = blank_problem(what, value)
        if reason is not None:
            raise problem(reason)
        return value

    return AfterValidator(check)


class _Frozen(Model):
    """Frozen, and refusing keys it does not declare (a typo is reported, not ignored)."""


class RoomRef(_Frozen):
    """Selects one room. Exactly one selector keeps matching unambiguous.

    ``agreed_role`` (Discord only) names the server role that lets members post in the room:
    a role scales to any number of members, where per-member channel overwrites stop at
    Discord's 100 per channel.
    """

    platform: Platform
    id: str | None = None
    alias: str | None = None
    name: str | None = None
    agreed_role: str | None = None

    @field_validator("id", "alias", "name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise problem("must not be empty")
        if value is not None and value != value.strip():
            # Rooms are compared exactly: "recovery " never matches the room "recovery".
            raise problem(
                f"'{value}' has a space at its start or end, so it would never match a "
                f"room; write '{value.strip()}'"
            )
        return value

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("platform") == "discord" and value[0] == "#":
            # Discord shows '#' before a channel's name; the name itself never has it.
            raise problem(
                f"'{value}': write the Discord channel name without '#', as '{value.lstrip('#')}'"
            )
        return value

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str | None, info: ValidationInfo) -> str | None:
        platform = info.data.get("platform")
        if value is None:
            return value
        if platform == "matrix" and not _MATRIX_ROOM_ID_RE.match(value):
            raise problem(
                f"'{value}' is not a Matrix room id (they look like '!abc123:example.org'); "
                "for '#room:server' use 'alias'"
            )
        if platform == "discord" and not _SNOWFLAKE_RE.match(value):
            raise problem(
                f"'{value}' is not a Discord channel id (a long number in quotes, like "
                "'123456789012345678'); for a channel name use 'name'"
            )
        if platform == "discord":
            _canonical_snowflake(value, "channel")
        return value

    @field_validator("alias")
    @classmethod
    def _alias_shape(cls, value: str | None, info: ValidationInfo) -> str | None:
        platform = info.data.get("platform")
        if value is None:
            return value
        if platform is not None and platform != "matrix":
            raise problem(f"'alias' is only for Matrix rooms; use 'name' or 'id' on {platform}")
        if not _MATRIX_ALIAS_RE.match(value):
            raise problem(
                f"'{value}' is not a Matrix room alias (they look like '#room:example.org')"
            )
        return value

    @field_validator("agreed_role")
    @classmethod
    def _role_shape(cls, value: str | None, info: ValidationInfo) -> str | None:
        platform = info.data.get("platform")
        if value is None:
            return value
        if platform is not None and platform != "discord":
            raise problem(
                f"'agreed_role' is only for Discord rooms; on {platform} members who have "
                "not agreed are held back without a role"
            )
        if not _SNOWFLAKE_RE.match(value):
            raise problem(
                f"'{value}' is not a Discord role id (a long number in quotes, like "
                "'123456789012345678'; with Developer Mode on, right-click the role and "
                "choose Copy Role ID)"
            )
        _canonical_snowflake(value, "role")
        return value

    @model_validator(mode="after")
    def _exactly_one_selector(self) -> Self:
        given = [key for key in ("id", "alias", "name") if getattr(self, key) is not None]
        if not given:
            raise problem("a room needs one of 'id', 'alias' or 'name'")
        if len(given) > 1:
            raise problem(
                "give only one of 'id', 'alias' or 'name' for a room, not "
                + " and ".join(f"'{key}'" for key in given)
            )
        return self

    @property
    def selector(self) -> tuple[str, str]:
        """Which selector is used and its value, e.g. ``("alias", "#recovery:example.org")``."""
        for key in ("id", "alias", "name"):
            value = getattr(self, key)
            if value is not None:
                return key, value
        raise AssertionError("validated RoomRef has no selector")

    def describe(self) -> str:
        kind, value = self.selector
        return f"{self.platform} room {kind} '{value}'"

    def matches(
        self, platform: str, room_id: str, name: str | None, aliases: Sequence[str]
    ) -> bool:
        if platform != self.platform:
            return False
        if self.id is not None:
            return self.id == room_id
        if self.alias is not None:
            return self.alias in aliases
        return self.name is not None and self.name == name


class UserRef(_Frozen):
    """A moderator, by the stable id each platform uses (never a changeable display name)."""

    platform: Platform
    user: str

    @field_validator("user")
    @classmethod
    def _user_shape(cls, value: str, info: ValidationInfo) -> str:
        platform = info.data.get("platform")
        if not value.strip():
            raise problem("must not be empty")
        if platform == "matrix" and not _MATRIX_USER_RE.match(value):
            raise problem(f"'{value}' is not a Matrix user id (they look like '@name:example.org')")
        if platform == "discord" and not _SNOWFLAKE_RE.match(value):
            raise problem(
                f"'{value}' is not a Discord user id (a long number in quotes, like "
                "'123456789012345678'; names can change, ids cannot)"
            )
        if platform == "discord":
            _canonical_snowflake(value, "user")
        return value


class RepeatSpec(_Frozen):
    """Periodic re-reminder in the room, so newcomers and long-time members both see it."""

    every_days: int | None = Field(default=None, ge=1, le=3650)  # beyond: a timer overflow
    every_messages: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if self.every_days is None and self.every_messages is None:
            raise problem("'repeat' needs 'every_days' or 'every_messages' (or both)")
        return self


class BurstSpec(_Frozen):
    """Joins faster than private reminders can be delivered (a platform's private-message
    queue deeper than ``queue_over``, or the platform rate-limiting the bot): the room gets
    one reminder at most every ``room_every_seconds`` naming the newcomers waiting for theirs,
    and their private reminders follow in the background, unless ``room_is_enough``."""

    queue_over: int = Field(default=10, ge=1, le=10_000)
    room_every_seconds: float = Field(default=5, ge=1, le=600)
    room_is_enough: bool = False


def normalise_text(text: str) -> str:
    """The form of a reminder that counts as "the same text" for re-asking members."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _hash_text(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()[:16]


def texts_version(texts: Sequence[tuple[str, str]]) -> str:
    """One version for a text given per language (``(language, text)`` pairs): any
    language's edit makes a new one, as members agree to the words they read, whichever
    language those are in; whitespace that changes nothing does not. One text alone has
    its own hash, so writing ``text: {en: ...}`` for ``text: ...`` asks nobody again."""
    if len(texts) == 1:
        return _hash_text(texts[0][1])
    # Separators no language tag has, and the texts normalised, in the tags' order.
    joined = "\x1d".join(f"{lang}\x1e{normalise_text(text)}" for lang, text in sorted(texts))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


class ReminderSpec(_Frozen):
    """The confidentiality reminder members see and, optionally, must agree to."""

    text: str
    # rules_message: no private message at all (unsolicited ones annoy members and can get a
    # bot flagged): one standing message in the room with an Agree button where possible.
    delivery: Literal["private", "room", "both", "rules_message"] = "private"
    # When a private message is refused, or (rules_message) must not be sent.
    fallback: Literal["room_mention", "private_thread", "next_interaction", "none"] = "room_mention"
    # The room mention names a member; it need not stay in the room's history for good.
    fallback_delete_after_minutes: float | None = Field(default=None, le=10080)
    require_agreement: bool = False
    # What agreement holds back: nothing (none: a reminder only), posting (post: what
    # 'require_agreement: true' always meant), or reading (read: newcomers see the room only
    # after agreeing, so nobody reads members' disclosures without having promised to keep
    # them). Left out, it follows 'require_agreement'; both given must say the same.
    gate: Literal["none", "post", "read"] | None = None
    # A changed text under a read gate: members who agreed to an earlier one keep reading
    # until they agree again (keep_access), or lose access until they do (suspend).
    reask: Literal["keep_access", "suspend"] = "keep_access"
    # Matrix only (ignored elsewhere): since_join warns when the room's history visibility
    # would show a newly admitted member messages from before their join.
    history: Literal["since_join", "any"] = "since_join"
    # Where the reminder with an Agree button goes for a newcomer of a read-gated room whose
    # private messages are closed (Discord's #welcome or #rules), visible to everyone.
    welcome_room: RoomRef | None = None
    unagreed_posts: Literal["hide", "remind"] = "hide"
    reask_on_change: bool = True
    repeat: RepeatSpec | None = None
    # Where a private chat must first be accepted (a Matrix invite), how long to wait for
    # the member before using the fallback instead.
    private_timeout_minutes: float = Field(default=10, le=10080)
    burst: BurstSpec = BurstSpec()

    @field_validator("text")
    @classmethod
    def _text_present(cls, value: str) -> str:
        reason = blank_problem("the reminder text", value)
        if reason is not None:
            raise problem(reason)
        if len(value) > MAX_REMINDER_CHARS:
            raise problem(
                f"the reminder text is too long: {len(value)} characters "
                f"(at most {MAX_REMINDER_CHARS})"
            )
        return value

    @field_validator("fallback_delete_after_minutes")
    @classmethod
    def _delete_needs_mention(cls, value: float | None, info: ValidationInfo) -> float | None:
        fallback = info.data.get("fallback")
        if value is not None and fallback is not None and fallback != "room_mention":
            raise problem(
                "'fallback_delete_after_minutes' only applies to 'fallback: room_mention', "
                f"not '{fallback}'"
            )
        return _at_least_a_minute(value, "the member needs time to read the mention")

    @field_validator("private_timeout_minutes")
    @classmethod
    def _private_timeout(cls, value: float) -> float:
        _at_least_a_minute(value, "the member needs time to open the private chat")
        return value

    @model_validator(mode="after")
    def _gate_and_require_agreement(self) -> Self:
        """Old policies say 'require_agreement' and load unchanged; new ones say 'gate'.
        Each fills in the other, so the rest of the code may ask either."""
        wanted = "post" if self.require_agreement else "none"
        if self.gate is None:
            object.__setattr__(self, "gate", wanted)
        elif "require_agreement" not in self.model_fields_set:
            object.__setattr__(self, "require_agreement", self.gate != "none")
        elif (self.gate != "none") != self.require_agreement:
            # Refused by the policy check at the 'gate' line (bot/policy/validate.py), where
            # a moderator reads why; kept as written so that check can name both values.
            pass
        return self

    @property
    def gate_mode(self) -> str:
        """The gate, always set once validated: 'none', 'post' or 'read'."""
        return self.gate or ("post" if self.require_agreement else "none")

    @property
    def text_hash(self) -> str:
        """Identifies this wording, ignoring edits that change nothing. It is the version
        members agree to only while the reminder is one text: with texts per language,
        :attr:`Policy.reminder_version` covers them all."""
        return _hash_text(self.text)


class LeakActionsSpec(_Frozen):
    """What a suspected leak sets in motion. Consequences beyond these are moderators' calls."""

    alert: bool = True
    remind_poster: bool = True
    delete_copy: bool = False
    # Take the copy down until a moderator has looked (where the bot may delete) and tell the
    # poster the outcome when the flag is closed; the bot keeps no text, so the poster
    # re-posts if the moderator finds it harmless.
    hold_for_review: bool = False


class LeakRepeatSpec(_Frozen):
    """Repeat leakers: what follows ``count`` confirmed flags (resolved as real) of one member
    within ``days``. ``mark`` only marks the alert; ``timeout`` keeps the member from posting
    for ``timeout_minutes`` (Discord: a communication timeout; Matrix: a power level below
    posting, restored after); ``remove`` takes them out of the policy's rooms (Discord: a View
    Channel deny; Matrix: a kick). A timeout or removal waits for a moderator's confirm unless
    ``automatic``: consequences are human decisions unless the community chose otherwise."""

    count: int = Field(default=3, ge=1, le=100)
    days: int = Field(default=30, ge=1, le=3650)
    action: Literal["mark", "timeout", "remove"] = "mark"
    # Discord ends a timeout at most 28 days ahead (Modify Guild Member).
    timeout_minutes: int = Field(default=60, ge=1, le=28 * 24 * 60)
    automatic: bool = False


MAX_STREAM_MINUTES = 60
"""The longest 'stream_minutes' a policy may ask for: the words of each member's last
messages are held in memory that long."""


class LeaksSpec(_Frozen):
    """Leak flagging for the policy's rooms: on unless switched off.

    The defaults come from benchmarks/leaks.py on about 258,000 real chat messages. The
    engine's first defaults (k=8, w=5, two matching fingerprints, whole-message hashes of
    short messages) flagged 1.99% of ordinary messages, mostly short ones matching whole,
    and found only 16.5% of 12-word quotes. k=11, w=2, one matching fingerprint and no
    whole-message matching flagged 0.056% (0.024% with a person's own words exempt) and
    found 99.35% of 12-word quotes: any shared run of w+k-1 = 12 words is caught.
    """

    enabled: bool = True
    k: int = Field(default=11, ge=2, le=64)
    w: int = Field(default=2, ge=1, le=64)
    min_matches: int = Field(default=1, ge=1, le=100)
    # Short messages (fewer than k words) matched as a whole: off, as they are most false flags.
    # The benchmark's short-disclosure table (172,095 ordinary messages) measured the cost of
    # turning it on: from 10 words 0.029% flagged instead of 0.024%, from 8 0.057%, from 6
    # 0.22%; no length came free, so it stays a policy's choice.
    whole_message: bool = False
    min_tokens_whole: int = Field(default=6, ge=1)  # when on: the benchmark's alternative
    stop_rooms: int = Field(default=3, ge=2)
    # Near-verbatim quotes: long confidential messages also keep short (5-word) shingles,
    # so a copy with a word or two changed, dropped or swapped is still found when at
    # least near_min_matches of its short shingles appear, in order, in one message.
    # Measured (benchmarks/leaks.py, full run): 99.85-100% of 20- and 30-word quotes with a
    # word or two edited, where the main fingerprints alone found 79-97%; false flags
    # unchanged with the exemption, 3 more of 172,095 without it.
    near_quotes: bool = True
    near_min_words: int = Field(default=16, ge=6, le=1000)  # shortest message that keeps them
    near_min_matches: int = Field(default=8, ge=2, le=100)
    exempt_own_words: bool = True
    retention_days: int = Field(default=90, ge=1, le=3650)
    scan_private_messages: bool = False
    # Moderators retell what they read as their work; whether their posts outside the
    # moderators' rooms are still checked is the community's choice (off by default).
    # Alert rooms and supporters' rooms are never checked, whatever this says.
    scan_moderators: bool = False
    # How long a copy taken down by 'hold_for_review' is kept sealed for a moderator to
    # read once (/flag show); destroyed earlier when the flag is closed.
    review_hours: float = Field(default=24, gt=0, le=720)
    # A member's messages in one room, each at most this many minutes after the one
    # before, are also read as one text, so a quote split over two or three messages is
    # caught (0: each message alone). In the chitchat benchmark data 99.2% of a person's
    # follow-up messages came within 5 minutes (95% within one).
    stream_minutes: float = 5
    actions: LeakActionsSpec = LeakActionsSpec()
    repeat: LeakRepeatSpec = LeakRepeatSpec()

    @field_validator("stream_minutes")
    @classmethod
    def _stream_window(cls, value: float) -> float:
        if not 0 <= value <= MAX_STREAM_MINUTES:
            raise problem(
                f"'stream_minutes' must be between 0 and {MAX_STREAM_MINUTES} minutes, got "
                f"{value:g}: it is how far apart one member's messages may be and still be "
                "read together (0 reads every message alone); a longer wait is a new message, "
                "not the rest of a quote"
            )
        return value

    @model_validator(mode="after")
    def _whole_below_k(self) -> Self:
        if self.whole_message and self.min_tokens_whole > self.k:
            raise problem(
                f"'min_tokens_whole' ({self.min_tokens_whole}) must not be more than "
                f"'k' ({self.k}): longer messages are matched by their shingles"
            )
        return self


_QUESTION_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _one_line(value: str) -> str:
    """Members' answers are compared with the option, and buttons and menus show it on one
    line with single spaces: an option written otherwise could never be chosen."""
    if value != " ".join(value.split()):
        raise problem(
            f"write this option on one line with single spaces and no space at its start or "
            f"end, as '{' '.join(value.split())}'"
        )
    return value


class QuestionSpec(_Frozen):
    """One check-in question. Every question may be skipped: none is ever required."""

    id: str
    prompt: str
    kind: Literal["scale", "choice", "yesno", "text"]
    min: int = 1
    max: int = 5
    labels: tuple[Annotated[str, _visible("this label")], ...] = ()  # per step, lowest first
    options: tuple[Annotated[str, _visible("this option"), AfterValidator(_one_line)], ...] = ()

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _QUESTION_ID_RE.match(value):
            raise problem(
                f"the question id '{value}' may only use lowercase letters, digits and '_', "
                "starting with a letter"
            )
        return value

    @field_validator("prompt")
    @classmethod
    def _prompt_present(cls, value: str) -> str:
        reason = blank_problem("the question's prompt", value)
        if reason is not None:
            raise problem(reason)
        return value

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        if self.kind == "scale":
            if not self.min < self.max or self.max - self.min > 10:
                raise problem(
                    f"a scale needs 'min' below 'max' and at most 11 steps, got "
                    f"{self.min} to {self.max}"
                )
            steps = self.max - self.min + 1
            if self.labels and len(self.labels) != steps:
                raise problem(
                    f"a scale from {self.min} to {self.max} needs {steps} 'labels' (one per "
                    f"step), got {len(self.labels)}"
                )
            folded = [label.strip().casefold() for label in self.labels]
            if len(set(folded)) != len(folded):
                raise problem(
                    "two 'labels' of this scale are the same (letter case aside); a member "
                    "typing one could not be told which step they meant"
                )
        elif self.labels:
            raise problem(f"'labels' are only for 'kind: scale', not '{self.kind}'")
        if self.kind == "choice":
            if len(self.options) < 2 or len(set(self.options)) != len(self.options):
                raise problem("a choice question needs at least two different 'options'")
            if len({option.casefold() for option in self.options}) != len(self.options):
                raise problem(
                    "two 'options' differ only in letter case; members' answers are read "
                    "regardless of case, so they would be the same answer"
                )
        elif self.options:
            raise problem(f"'options' are only for 'kind: choice', not '{self.kind}'")
        return self


class ThresholdSpec(_Frozen):
    """An answer that shows the crisis resources, e.g. ``{question: mood, at_most: 1}``."""

    question: str
    at_most: int | None = None
    at_least: int | None = None
    equals: str | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        given = [k for k in ("at_most", "at_least", "equals") if getattr(self, k) is not None]
        if len(given) != 1:
            raise problem("a threshold needs exactly one of 'at_most', 'at_least' or 'equals'")
        return self


class ResourceSpec(_Frozen):
    """A crisis line or service of the community's region: shown as written here."""

    name: str
    number: str | None = None
    link: str | None = None

    @field_validator("name")
    @classmethod
    def _name_shown(cls, value: str) -> str:
        reason = blank_problem("the resource's name", value)
        if reason is not None:
            raise problem(reason + "; members must see whom they are calling")
        return value

    @field_validator("number", "link")
    @classmethod
    def _contact_shown(cls, value: str | None, info: ValidationInfo) -> str | None:
        what = f"the resource's {info.field_name}"
        reason = None if value is None else blank_problem(what, value)
        if reason is not None:
            raise problem(reason + "; a member in crisis would be shown nothing to use")
        return value

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if self.number is None and self.link is None:
            raise problem(f"the resource '{self.name}' needs a 'number' or a 'link'")
        return self


def _keyword_present(value: str) -> str:
    if not value.strip():
        raise problem("a crisis keyword is empty; it would match almost every answer")
    reason = blank_problem("this crisis keyword", value)
    if reason is not None:
        raise problem(reason)
    return value


Keyword = Annotated[str, AfterValidator(_keyword_present)]


class CrisisSpec(_Frozen):
    """What shows the resources at once: keywords (per language) in written answers, and
    answer thresholds."""

    keywords: dict[str, tuple[Keyword, ...]] = Field(default_factory=dict)
    thresholds: tuple[ThresholdSpec, ...] = ()
    resources: tuple[ResourceSpec, ...] = ()

    @model_validator(mode="after")
    def _resources_when_triggered(self) -> Self:
        if (self.keywords or self.thresholds) and not self.resources:
            raise problem("'crisis' has keywords or thresholds but no 'resources' to show")
        return self


class CheckinsSpec(_Frozen):
    """Private check-ins: off unless a policy has this section.

    Nothing here is ever shown in a room: answers stay with the member, and a peer
    supporter hears of a member only when the member says yes (or, where ``duty_to_warn``
    is set, when that rule applies and the member is told so).
    """

    enabled: bool = True
    intro: str
    retention_days: int = Field(default=180, ge=1, le=3650)
    timeout_minutes: float = Field(default=30, le=1440)
    questions: tuple[QuestionSpec, ...]
    crisis: CrisisSpec = CrisisSpec()
    supporters: tuple[UserRef, ...] = ()
    supporters_room: RoomRef | None = None
    duty_to_warn: str | None = None
    # A scheduled check-in missed while Confidant was down: sent once on return, or skipped.
    missed: Literal["once", "skip"] = "once"

    @field_validator("intro")
    @classmethod
    def _intro_present(cls, value: str) -> str:
        reason = blank_problem("the check-in intro", value)
        if reason is not None:
            raise problem(reason)
        if len(value) > MAX_REMINDER_CHARS:
            raise problem(f"the check-in intro is too long (at most {MAX_REMINDER_CHARS})")
        return value

    @field_validator("timeout_minutes")
    @classmethod
    def _timeout(cls, value: float) -> float:
        _at_least_a_minute(value, "a member needs time to answer a question")
        return value

    @field_validator("duty_to_warn")
    @classmethod
    def _duty_shown(cls, value: str | None) -> str | None:
        reason = None if value is None else blank_problem("'duty_to_warn'", value)
        if reason is not None:
            raise problem(reason + "; members must read when they would be reported")
        return value

    @field_validator("questions")
    @classmethod
    def _questions_unique(cls, value: tuple[QuestionSpec, ...]) -> tuple[QuestionSpec, ...]:
        if not value:
            raise problem("'questions' is empty; list at least one question")
        ids = [q.id for q in value]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise problem(f"the question id '{repeated[0]}' is used twice")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        by_id = {q.id: q for q in self.questions}
        for threshold in self.crisis.thresholds:
            question = by_id.get(threshold.question)
            if question is None:
                raise problem(
                    f"the crisis threshold names the question '{threshold.question}', which "
                    "is not under 'questions'"
                )
            numeric = threshold.equals is None
            if numeric != (question.kind == "scale"):
                raise problem(
                    f"use 'at_most'/'at_least' for scale questions and 'equals' otherwise "
                    f"(question '{question.id}' is '{question.kind}')"
                )
        if (self.supporters_room is None) != (not self.supporters):
            raise problem("'supporters' and 'supporters_room' go together: give both or neither")
        if self.duty_to_warn is not None and self.supporters_room is None:
            raise problem("'duty_to_warn' needs 'supporters' and a 'supporters_room' to tell")
        return self

    @property
    def intro_hash(self) -> str:
        """A changed intro (or duty-to-warn rule) asks for consent again."""
        text = normalise_text(self.intro) + "\x1f" + (self.duty_to_warn or "")
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def is_supporter(self, platform: str, user_id: str) -> bool:
        return any(s.platform == platform and s.user == user_id for s in self.supporters)


class ReportsSpec(_Frozen):
    """Members' private reports to the moderators (/report): on by default, since a member
    whose words were retold elsewhere should always have a quiet way to say so."""

    enabled: bool = True
    per_hour: int = Field(default=3, ge=1, le=60)  # per member, across this policy's rooms


class Policy(_Frozen):
    """Everything Confidant does in a set of rooms. One file holds one policy."""

    name: str
    source: str
    rooms: tuple[RoomRef, ...]
    moderators: tuple[UserRef, ...] = ()
    alerts: tuple[RoomRef, ...] = ()
    # Rooms only watched for leaks of this policy's rooms (a lobby, a general channel): no
    # reminder, no agreement gate; the bot accepts invites to them where invites exist.
    watch: tuple[RoomRef, ...] = ()
    reminder: ReminderSpec
    leaks: LeaksSpec = LeaksSpec()
    checkins: CheckinsSpec | None = None
    reports: ReportsSpec = ReportsSpec()
    # The language the bot speaks in this policy's rooms and to their members (BCP 47: "es",
    # "es-MX", "de"); its own sentences come from the catalog for it (bot/i18n.py).
    language: str = "en"
    # The language a text given per language is said in where it lacks the reader's own
    # (without one, every such text gives every language the policy uses; languages.py).
    fallback_language: str | None = None
    # policy: members hear the policy's language. platform: a member's own language where
    # the platform tells it (Discord's interaction locale: their answers to slash commands
    # and buttons), the policy's language everywhere else.
    member_language: Literal["policy", "platform"] = "policy"
    # Text commands (Matrix, console) in this policy's rooms also read the language's words
    # for command names (true), and these own aliases (alias: a declared command word);
    # command words as declared always work (bot/command_words.py, aliases_check.py).
    command_aliases: bool | dict[str, str] = False
    # Set by the loader, never by the file: each per-language text by its path
    # ("reminder.text") and language. The fields themselves hold the 'language' text.
    # (Tuples, not dicts: a policy stays hashable.)
    translations: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    @field_validator("fallback_language")
    @classmethod
    def _fallback_shape(cls, value: str | None) -> str | None:
        if value is not None and not i18n.is_language_tag(value):
            raise problem(f"'{value}' is not a language tag; write one like 'en' or 'es'")
        return value

    @field_validator("language")
    @classmethod
    def _language_shape(cls, value: str) -> str:
        if not i18n.is_language_tag(value):
            raise problem(
                f"'{value}' is not a language tag; write one like 'en', 'es', 'de', 'fr' or "
                "'es-MX' (BCP 47)"
            )
        if i18n.negotiate(value) == i18n.SOURCE and not value.lower().startswith(i18n.SOURCE):
            raise problem(
                f"Confidant has no catalog for '{value}'; it speaks "
                f"{', '.join(i18n.available())}. Add one (README: adding a language) or pick "
                "one of these"
            )
        return value

    @property
    def reminder_version(self) -> str:
        """The version of the reminder members agree to, are reminded of and are asked
        again for when it changes (stored with reminders and agreements, and part of the
        reminders' keys). With one text it is that text's hash as it always was, so an
        upgrade asks nobody again; with a text per language it covers every language."""
        given = dict(self.translations).get("reminder.text", ())
        return texts_version(given) if given else self.reminder.text_hash

    def text_in(self, path: str, lang: str, said: str) -> str:
        """A policy text in ``lang`` where the policy gives one (else its fallback's, else
        ``said``, the text in the policy's language)."""
        given = dict(dict(self.translations).get(path, ()))
        exact = given.get(lang) or given.get(i18n.negotiate(lang))
        return exact or (given.get(self.fallback_language or "") or said)

    @field_validator("rooms")
    @classmethod
    def _has_rooms(cls, value: tuple[RoomRef, ...]) -> tuple[RoomRef, ...]:
        # A validator rather than a length limit: it runs only once every entry is valid, so
        # a merely invalid entry never tells moderators that the list is empty.
        if not value:
            raise problem("'rooms' is empty; list at least one room")
        return value

    @field_validator("alerts")
    @classmethod
    def _alerts_grant_nothing(cls, value: tuple[RoomRef, ...]) -> tuple[RoomRef, ...]:
        for ref in value:
            if ref.agreed_role is not None:
                raise problem(
                    f"'agreed_role' belongs to a room under 'rooms', not to the alert room "
                    f"{ref.describe()}"
                )
        return value

    @field_validator("watch")
    @classmethod
    def _watch_grants_nothing(cls, value: tuple[RoomRef, ...]) -> tuple[RoomRef, ...]:
        for ref in value:
            if ref.agreed_role is not None:
                raise problem(
                    f"'agreed_role' belongs to a room under 'rooms'; {ref.describe()} under "
                    "'watch' has no agreement to grant"
                )
        return value

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not POLICY_NAME_RE.match(value):
            raise problem(
                f"the policy name '{value}' may only use lowercase letters, digits, '-' and '_'"
            )
        return value

    def room_ref(
        self, platform: str, room_id: str, name: str | None = None, aliases: Sequence[str] = ()
    ) -> RoomRef | None:
        """The entry under 'rooms' that selects this room; one naming a role wins, so a room
        listed by id and by name still gets its role."""
        found = [ref for ref in self.rooms if ref.matches(platform, room_id, name, aliases)]
        return next((ref for ref in found if ref.agreed_role is not None), None) or next(
            iter(found), None
        )


class PolicySet(_Frozen):
    """An immutable snapshot of all loaded policies, swapped as a whole on reload."""

    policies: tuple[Policy, ...] = ()

    @model_validator(mode="after")
    def _no_conflicts(self) -> Self:
        # The loader reports these with file positions first; this guards other callers.
        conflicts = find_conflicts(self.policies)
        if conflicts:
            raise problem("; ".join(c.message for c in conflicts))
        return self

    def for_room(
        self, platform: str, room_id: str, name: str | None = None, aliases: Sequence[str] = ()
    ) -> Policy | None:
        for policy in self.policies:
            if any(room.matches(platform, room_id, name, aliases) for room in policy.rooms):
                return policy
        return None

    def watching(
        self, platform: str, room_id: str, name: str | None = None, aliases: Sequence[str] = ()
    ) -> tuple[Policy, ...]:
        """The policies that list this room under 'watch'."""
        return tuple(
            policy
            for policy in self.policies
            if any(ref.matches(platform, room_id, name, aliases) for ref in policy.watch)
        )

    def is_moderators_room(
        self, platform: str, room_id: str, name: str | None = None, aliases: Sequence[str] = ()
    ) -> bool:
        """An alert room or a supporters' room of any policy: where moderators and
        supporters discuss what members told them, which is their work, not a leak."""
        for policy in self.policies:
            refs = list(policy.alerts)
            if policy.checkins is not None and policy.checkins.supporters_room is not None:
                refs.append(policy.checkins.supporters_room)
            if any(ref.matches(platform, room_id, name, aliases) for ref in refs):
                return True
        return False

    def by_name(self, name: str) -> Policy | None:
        return next((p for p in self.policies if p.name == name), None)

    def is_moderator(self, platform: str, user_id: str, policy: Policy | None = None) -> bool:
        policies = self.policies if policy is None else (policy,)
        return any(
            mod.platform == platform and mod.user == user_id
            for p in policies
            for mod in p.moderators
        )
